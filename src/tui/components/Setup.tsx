import { Box, Text, useApp, useInput } from 'ink';
import { useRef, useState } from 'react';
import { stripControls } from '../stripControls.js';

export interface SetupProps {
  /** Called with what was typed (room defaults to general). */
  onDone: (answers: { name: string; room: string }) => void;
}

/** Asks for a name and a room before connecting, as the original CLI did on stdin. */
export function Setup({ onDone }: SetupProps) {
  const { exit } = useApp();
  const [step, setStep] = useState<'name' | 'room'>('name');
  const [value, setValue] = useState('');
  const name = useRef('');
  const draft = useRef('');
  const set = (v: string) => {
    draft.current = v;
    setValue(v);
  };

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return exit();
    if (key.return) {
      const answer = draft.current.trim();
      if (step === 'name') {
        if (answer === '') return;
        name.current = answer;
        set('');
        return setStep('room');
      }
      return onDone({ name: name.current, room: answer || 'general' });
    }
    if (key.backspace || key.delete) return set([...draft.current].slice(0, -1).join(''));
    if (key.ctrl || key.meta || input === '') return;
    set(draft.current + stripControls(input));
  });

  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>chat-grpc</Text>
      {step === 'room' && <Text>Name: {name.current}</Text>}
      <Text>
        {step === 'name' ? 'Your name: ' : 'Room [general]: '}
        {value}
        <Text inverse> </Text>
      </Text>
      <Text dimColor>Enter to go on · Ctrl+C to quit</Text>
    </Box>
  );
}
