import type { ChatConnection } from '../client/ChatConnection.js';
import type { ChatModel } from './ChatModel.js';
import { sanitizeName } from './sanitize.js';

/** What /help prints, one line per command. */
export const HELP = [
  '/join ROOM     join a room (and show it)',
  '/leave [ROOM]  leave a room (the one shown if none is named)',
  '/rooms         list the rooms on the server',
  '/who           who is in the room shown',
  '/help          this list',
  '/quit          leave every room and exit (also Ctrl+C, or end of input in line mode)',
];

/** What a typed line asks for. */
export type Command =
  | { kind: 'send'; text: string }
  | { kind: 'join'; room: string }
  | { kind: 'leave'; room?: string }
  | { kind: 'rooms' }
  | { kind: 'who' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'invalid'; message: string };

/** Reads one typed line: a /command, or a message (`//text` sends "/text"). */
export function parseCommand(line: string): Command {
  if (!line.startsWith('/') || line.startsWith('//')) return { kind: 'send', text: line.startsWith('//') ? line.slice(1) : line };
  const [name = '', ...args] = line.slice(1).trim().split(/\s+/);
  const arg = args[0];
  switch (name.toLowerCase()) {
    case 'join':
      return arg ? { kind: 'join', room: arg } : { kind: 'invalid', message: 'usage: /join ROOM' };
    case 'leave':
    case 'part':
      return { kind: 'leave', room: arg };
    case 'rooms':
    case 'list':
      return { kind: 'rooms' };
    case 'who':
    case 'names':
      return { kind: 'who' };
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    default:
      return { kind: 'invalid', message: `unknown command /${sanitizeName(name, 20)}: /help lists them` };
  }
}

/**
 * Carries out a command against the connection, writing what it has to say
 * with `say`. Returns 'quit' when the user asked to leave. Both the TUI and
 * line mode run commands through here.
 */
export async function runCommand(
  command: Command,
  connection: ChatConnection,
  model: ChatModel,
  say: (text: string, kind?: 'notice' | 'error') => void,
): Promise<'quit' | void> {
  switch (command.kind) {
    case 'send': {
      if (command.text.trim() === '') return;
      // The room being joined counts: what is typed before its JoinAck waits for it.
      const room = model.target ?? connection.joinedRooms[0];
      if (room === undefined) return say('not in a room: /join one first', 'error');
      try {
        connection.send(room, command.text);
      } catch (error) {
        say(`not sent: ${(error as Error).message}`, 'error');
      }
      return;
    }
    case 'join':
      if (connection.joinedRooms.includes(command.room)) model.show(command.room);
      else {
        connection.join(command.room);
        model.showWhenJoined(command.room);
      }
      return;
    case 'leave': {
      const room = command.room ?? model.active;
      if (room === undefined || !connection.joinedRooms.includes(room)) return say(`not in ${room ? `#${sanitizeName(room)}` : 'a room'}`, 'error');
      connection.leave(room);
      model.remove(room);
      return say(`left #${sanitizeName(room)}`);
    }
    case 'rooms': {
      try {
        const rooms = await connection.listRooms();
        if (rooms.length === 0) return say('no rooms on the server');
        say(`${rooms.length} room${rooms.length === 1 ? '' : 's'} on the server:`);
        for (const r of rooms) say(`  #${sanitizeName(r.room)}: ${r.memberCount} member${r.memberCount === 1 ? '' : 's'}, ${r.lastSeq} events`);
      } catch (error) {
        say(`cannot list rooms: ${(error as Error).message}`, 'error');
      }
      return;
    }
    case 'who': {
      const room = model.activeRoom;
      if (room === undefined) return say('not in a room', 'error');
      return say(`${room.members.size} in #${sanitizeName(room.name)}: ${[...room.members.values()].sort().join(', ')}`);
    }
    case 'help':
      for (const line of HELP) say(line);
      return;
    case 'quit':
      return 'quit';
    case 'invalid':
      return say(command.message, 'error');
  }
}
