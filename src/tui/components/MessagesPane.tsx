import { Box, Text } from 'ink';
import type { ViewLine } from '../ChatModel.js';
import { messageRows, type Row } from '../messageRows.js';
import { senderColor } from '../senderColor.js';
import { fitWidth } from '../wrapText.js';

export interface MessagesPaneProps {
  room: string | undefined;
  lines: ViewLine[];
  /** Sends waiting for the server's copy, shown last. */
  pending: ViewLine[];
  /** Rows scrolled back from the newest (0: following new messages). */
  scroll: number;
  width: number;
  height: number;
}

/** The active room's messages and notices, newest at the bottom, wrapped to the pane. */
export function MessagesPane({ room, lines, pending, scroll, width, height }: MessagesPaneProps) {
  const inner = Math.max(1, width - 2);
  const { rows, more } = paneRows({ lines, pending, scroll, width, height });
  const where = scroll > 0 ? ` ↑ ${scroll} rows back (PgDn)` : more ? ' (PgUp for more)' : '';
  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor="gray" flexGrow={1}>
      <Text wrap="truncate">
        <Text bold>{room === undefined ? 'no room' : fitWidth(`#${room}`, inner - where.length)}</Text>
        <Text dimColor>{where}</Text>
      </Text>
      {rows.map((row) => (
        <MessageRow key={row.key} row={row} />
      ))}
    </Box>
  );
}

/** The most rows the pane can scroll back with these props (for the App to clamp PgUp to). */
export function maxScrollOf(props: Omit<MessagesPaneProps, 'room'>): number {
  return paneRows(props).maxScroll;
}

/** The rows the pane shows: inside its border, below its title line. */
function paneRows({ lines, pending, scroll, width, height }: Omit<MessagesPaneProps, 'room'>) {
  return messageRows(pending.length > 0 ? [...lines, ...pending] : lines, Math.max(1, width - 2), Math.max(1, height - 3), scroll);
}

function MessageRow({ row }: { row: Row }) {
  const { line } = row;
  if (line.kind === 'notice' || line.kind === 'error') {
    const color = line.kind === 'error' ? 'red' : undefined;
    return (
      <Text wrap="truncate" dimColor={line.kind === 'notice'} color={color}>
        {row.time && `${row.time} ${row.sender} `}
        {row.text}
      </Text>
    );
  }
  const own = line.kind === 'own' || line.kind === 'pending';
  return (
    <Text wrap="truncate" dimColor={line.kind === 'pending'}>
      {row.time && (
        <>
          <Text dimColor>{row.time} </Text>
          <Text color={senderColor(line.senderId)} bold={own} underline={own}>
            {row.sender}
          </Text>{' '}
        </>
      )}
      {row.text}
      {line.kind === 'pending' && row.time && <Text dimColor> …</Text>}
    </Text>
  );
}
