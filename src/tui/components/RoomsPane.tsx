import { Box, Text } from 'ink';
import { sanitizeName } from '../sanitize.js';
import { fitWidth } from '../wrapText.js';

export interface RoomsPaneProps {
  /** Rooms by their real names (as the server has them); the pane makes them safe and short to show. */
  rooms: Array<{ name: string; unread: number }>;
  /** The real name of the room shown. */
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
        // Keyed and marked by the real name: two long names can share what is shown.
        const isActive = name === active;
        return (
          <Text key={name} wrap="truncate" bold={isActive} inverse={isActive}>
            {isActive ? '›' : ' '}
            {fitWidth(`#${sanitizeName(name)}`, inner - 1 - badge.length)}
            <Text color="yellow">{badge}</Text>
          </Text>
        );
      })}
      {rooms.length > shown.length && <Text dimColor>+{rooms.length - shown.length} more</Text>}
      {rooms.length === 0 && <Text dimColor wrap="truncate">/join a room</Text>}
    </Box>
  );
}
