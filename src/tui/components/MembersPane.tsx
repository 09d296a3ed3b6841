import { Box, Text } from 'ink';
import { senderColor } from '../senderColor.js';
import { fitWidth } from '../wrapText.js';

export interface MembersPaneProps {
  /** user id → display name. */
  members: Map<string, string>;
  me: string;
  width: number;
  height: number;
}

/** Who is in the active room, you first, with the count. */
export function MembersPane({ members, me, width, height }: MembersPaneProps) {
  const inner = Math.max(1, width - 2);
  const sorted = [...members].sort(([a, an], [b, bn]) => (a === me ? -1 : b === me ? 1 : an.localeCompare(bn)));
  const fits = Math.max(0, height - 3);
  const shown = sorted.length > fits ? sorted.slice(0, Math.max(0, fits - 1)) : sorted;
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="gray" flexShrink={0}>
      <Text bold wrap="truncate">Members ({members.size})</Text>
      {shown.map(([id, name]) => (
        <Text key={id} wrap="truncate" color={senderColor(id)}>
          {fitWidth(id === me ? `${name} (you)` : name, inner)}
        </Text>
      ))}
      {sorted.length > shown.length && <Text dimColor>+{sorted.length - shown.length} more</Text>}
    </Box>
  );
}
