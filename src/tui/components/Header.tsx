import { Box, Text } from 'ink';
import type { ConnectionState } from '../../client/ConnectionEvent.js';
import { sanitize } from '../sanitize.js';
import { fitWidth } from '../wrapText.js';

export interface HeaderProps {
  /** The server in use, or tried next. */
  address: string;
  state: ConnectionState;
  /** Who you are: display name and user id. */
  name: string;
  userId: string;
  /** Now (epoch ms), for the reconnect countdown. */
  now: number;
  width: number;
}

/** The top line: server, connection state in colour, who you are. */
export function Header({ address, state, name, userId, now, width }: HeaderProps) {
  const [label, color] = describeState(state, now);
  const who = name === userId ? name : `${name} (@${userId})`;
  return (
    <Box width={width}>
      <Text wrap="truncate">
        <Text bold>chat-grpc</Text>
        <Text dimColor> {fitWidth(address, 24)} </Text>
        <Text color={color}>{label}</Text>
        <Text dimColor> as </Text>
        <Text bold>{fitWidth(who, 28)}</Text>
      </Text>
    </Box>
  );
}

/** What the header says about the connection, and in which colour. */
export function describeState(state: ConnectionState, now: number): [string, string] {
  switch (state.kind) {
    case 'connected':
      return ['● connected', 'green'];
    case 'connecting':
      return ['◌ connecting…', 'yellow'];
    case 'reconnecting':
      return [`◌ reconnecting in ${Math.max(0, Math.ceil((state.at - now) / 1000))}s (attempt ${state.attempt})`, 'yellow'];
    case 'closed':
      // The reason holds the server's status details: network text, so sanitized (Ink passes OSC sequences through).
      return [`✕ closed${state.reason ? `: ${sanitize(state.reason)}` : ''}`, 'red'];
  }
}
