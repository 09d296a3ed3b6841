import { Box, Text } from 'ink';
import { cellWidth, fitEnd } from '../wrapText.js';

export interface InputLineProps {
  value: string;
  /** Where a message goes, shown in the prompt. */
  room: string | undefined;
  width: number;
}

/** The line being typed (its end, when it is wider than the screen) and the key hint below it. */
export function InputLine({ value, room, width }: InputLineProps) {
  const prompt = room === undefined ? '> ' : `#${room} > `;
  const space = Math.max(4, width - cellWidth(prompt) - 1);
  const shown = fitEnd(value, space);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text color="cyan">{prompt}</Text>
        {shown}
        <Text inverse> </Text>
      </Text>
      <Text dimColor wrap="truncate">
        Enter send · /help · Tab rooms · ↑↓ history · PgUp/PgDn scroll · Ctrl+C quit
      </Text>
    </Box>
  );
}
