import { Box, useApp, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { ChatConnection } from '../../client/ChatConnection.js';
import { parseCommand, runCommand } from '../commands.js';
import { sanitizeName } from '../sanitize.js';
import { typedLines } from '../typedLines.js';
import { useChat } from '../useChat.js';
import { useTerminalSize } from '../useTerminalSize.js';
import { Header } from './Header.js';
import { InputLine } from './InputLine.js';
import { MembersPane } from './MembersPane.js';
import { maxScrollOf, MessagesPane } from './MessagesPane.js';
import { RoomsPane } from './RoomsPane.js';

export interface AppProps {
  connection: ChatConnection;
  /** Called once the user quit and the connection is closed. */
  onQuit: () => void;
}

/** Most input lines remembered for Up/Down. */
const HISTORY = 100;

/** The whole screen: header, rooms | messages | members, input line. Keys and commands live here. */
export function App({ connection, onQuit }: AppProps) {
  const { exit } = useApp();
  const { model, refresh } = useChat(connection);
  const { columns, rows } = useTerminalSize();
  const [draft, setDraft] = useState('');
  const [scroll, setScroll] = useState(0);
  const [now, setNow] = useState(Date.now());
  // Keys can come faster than renders: the draft and history live in refs too.
  const draftRef = useRef('');
  const history = useRef<{ lines: string[]; at: number }>({ lines: [], at: 0 });
  const quitting = useRef(false);

  // The reconnect countdown ticks while it runs.
  useEffect(() => {
    if (model.connection.kind !== 'reconnecting') return;
    // The countdown starts from now, not from whenever `now` was last set.
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [model.connection.kind]);

  const bodyHeight = Math.max(3, rows - 3);
  const showMembers = columns >= 60;
  const showRooms = columns >= 45;
  const roomsWidth = showRooms ? Math.min(22, Math.max(12, Math.floor(columns * 0.18))) : 0;
  const membersWidth = showMembers ? Math.min(24, Math.max(14, Math.floor(columns * 0.2))) : 0;
  const messagesWidth = columns - roomsWidth - membersWidth;

  const setInput = (value: string) => {
    draftRef.current = value;
    setDraft(value);
  };

  const quit = async () => {
    if (quitting.current) return;
    quitting.current = true;
    await connection.close();
    exit();
    onQuit();
  };

  const submit = async (line: string) => {
    setInput('');
    if (line.trim() === '') return;
    const h = history.current;
    h.lines = [...h.lines.filter((l) => l !== line), line].slice(-HISTORY);
    h.at = h.lines.length;
    setScroll(0);
    const say = (text: string, kind?: 'notice' | 'error') => model.say(text, kind);
    const outcome = await runCommand(parseCommand(line), connection, model, say);
    refresh();
    if (outcome === 'quit') await quit();
  };

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return void quit();
    if (key.return) return void submit(draftRef.current);
    if (key.tab || (key.ctrl && (input === 'n' || input === 'p'))) {
      model.cycle(key.shift || input === 'p' ? -1 : 1);
      setScroll(0);
      return refresh();
    }
    if (key.pageUp) {
      // No further back than the oldest line, so that PgDn comes back at once.
      const pending = model.activeRoom ? [...model.activeRoom.pending.values()] : [];
      const pane = { lines: model.shownLines, pending, width: messagesWidth, height: bodyHeight };
      return setScroll((s) => {
        const wanted = s + Math.max(1, bodyHeight - 4);
        return Math.min(wanted, maxScrollOf({ ...pane, scroll: wanted }));
      });
    }
    if (key.pageDown) return setScroll((s) => Math.max(0, s - Math.max(1, bodyHeight - 4)));
    if (key.upArrow || key.downArrow) {
      const h = history.current;
      h.at = Math.max(0, Math.min(h.lines.length, h.at + (key.upArrow ? -1 : 1)));
      return setInput(h.lines[h.at] ?? '');
    }
    if (key.backspace || key.delete) return setInput([...draftRef.current].slice(0, -1).join(''));
    if (key.escape) return setInput('');
    if (key.ctrl || key.meta || input === '') return;
    // Typed or pasted text, possibly several lines in one chunk (a paste, or keys
    // sent faster than they are read): each line break submits what is before it.
    const lines = typedLines(input);
    for (const part of lines.slice(0, -1)) void submit(draftRef.current + part);
    setInput(draftRef.current + lines.at(-1)!);
  });

  const room = model.activeRoom;
  const me = connection.identity;
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Header address={model.server || connection.address} state={model.connection} name={sanitizeName(me.displayName || me.userId)} userId={me.userId} now={now} width={columns} />
      <Box height={bodyHeight}>
        {showRooms && (
          <RoomsPane rooms={[...model.rooms.values()].map((r) => ({ name: r.name, unread: r.unread }))} active={room?.name} width={roomsWidth} height={bodyHeight} />
        )}
        <MessagesPane room={room && sanitizeName(room.name)} lines={model.shownLines} pending={room ? [...room.pending.values()] : []} scroll={scroll} width={messagesWidth} height={bodyHeight} />
        {showMembers && <MembersPane members={room?.members ?? new Map()} me={me.userId} width={membersWidth} height={bodyHeight} />}
      </Box>
      <InputLine value={draft} room={room && sanitizeName(room.name)} width={columns} />
    </Box>
  );
}
