import { Box, Text } from 'ink';
import { fitWidth } from '../wrapText.js';

export interface RoomsPaneProps {
  rooms: Array<{ name: string; unread: number }>;
  active: string | undefined;
  width: number;
  height: number;
}

/** The joined rooms, the active one marked, each with its unread count. */
export function RoomsPane({ rooms, active, width, height }: RoomsPaneProps) {
  const inner = Math.max(1, width - 2);
  const fits = Math.max(0, height - 3);
  const shown = rooms.slice(0, fits);
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="gray" flexShrink={0}>
      <Text bold wrap="truncate">Rooms</Text>
      {shown.map(({ name, unread }) => {
        const badge = unread > 0 ? ` ${unread > 999 ? '999+' : unread}` : '';
        const isActive = name === active;
        return (
          <Text key={name} wrap="truncate" bold={isActive} inverse={isActive}>
            {isActive ? '›' : ' '}
            {fitWidth(`#${name}`, inner - 1 - badge.length)}
            <Text color="yellow">{badge}</Text>
          </Text>
        );
      })}
      {rooms.length > shown.length && <Text dimColor>+{rooms.length - shown.length} more</Text>}
      {rooms.length === 0 && <Text dimColor wrap="truncate">/join a room</Text>}
    </Box>
  );
}
