import { Box, Text, useApp, useInput } from 'ink';
import { useRef, useState } from 'react';
import { typedLines } from '../typedLines.js';

export interface SetupProps {
  /** Called with what was typed (room defaults to general). */
  onDone: (answers: { name: string; room: string }) => void;
}

/** Asks for a name and a room before connecting, as the original CLI did on stdin. */
export function Setup({ onDone }: SetupProps) {
  const { exit } = useApp();
  const [step, setStep] = useState<'name' | 'room'>('name');
  const [value, setValue] = useState('');
  // Refs, not state, so that one chunk holding several lines (a paste, or
  // `tmux send-keys "Bob" Enter`) sees each answer's step at once.
  const stepRef = useRef<'name' | 'room'>('name');
  const name = useRef('');
  const draft = useRef('');
  const set = (v: string) => {
    draft.current = v;
    setValue(v);
  };
  /** Takes the draft as the current step's answer; true once both are in. */
  const answer = (): boolean => {
    const typed = draft.current.trim();
    if (stepRef.current === 'room') {
      onDone({ name: name.current, room: typed || 'general' });
      return true;
    }
    if (typed === '') return false;
    name.current = typed;
    set('');
    stepRef.current = 'room';
    setStep('room');
    return false;
  };

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return exit();
    if (key.return) return void answer();
    if (key.backspace || key.delete) return set([...draft.current].slice(0, -1).join(''));
    if (key.ctrl || key.meta || input === '') return;
    // As in the chat input, each line break in a chunk answers what is before it
    // (what follows the last answer is the chat's, which is not drawn yet: dropped).
    const lines = typedLines(input);
    for (const part of lines.slice(0, -1)) {
      set(draft.current + part);
      if (answer()) return;
    }
    set(draft.current + lines.at(-1)!);
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
