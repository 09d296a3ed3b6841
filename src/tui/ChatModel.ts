import type { ChatPayload } from '../client/ChatEvent.js';
import type { Identity } from '../client/ChatSession.js';
import type { ConnectionEvent, ConnectionState } from '../client/ConnectionEvent.js';
import { sanitize, sanitizeName } from './sanitize.js';

/** One entry of a room's message list, already safe to print. */
export interface ViewLine {
  id: number;
  /** When it happened (epoch ms). */
  at: number;
  kind: 'message' | 'own' | 'pending' | 'notice' | 'error';
  /** Who said it (messages), for its stable colour. */
  senderId: string;
  sender: string;
  text: string;
}

/** A joined room as the view shows it. */
export interface RoomView {
  name: string;
  lines: ViewLine[];
  /** user id → display name, sanitized. */
  members: Map<string, string>;
  unread: number;
  /** Sends not yet echoed by the server, by client_msg_id. */
  pending: Map<string, ViewLine>;
}

/** Most lines kept per room; older ones scroll away for good. */
export const MAX_LINES = 5000;

/**
 * The client's state as the TUI and line mode show it, folded from the
 * connection's events. Mutable on purpose: a busy room brings thousands of
 * events a second, and copying the lists for each would cost more than drawing.
 * `version` changes whenever something visible did.
 */
export class ChatModel {
  readonly rooms = new Map<string, RoomView>();
  active: string | undefined;
  /** Where the connection stands ('' as the address until it says which). */
  connection: ConnectionState = { kind: 'connecting', address: '' };
  /** The server in use or tried next; once closed, the last one ('' until the connection names one). */
  server = '';
  /** What the client says while no room is shown (help, errors about rooms not joined). */
  readonly system: ViewLine[] = [];
  version = 0;
  private nextId = 1;
  private wantShown: string | undefined;

  constructor(readonly me: Identity) {}

  /** The active room's view, if any. */
  get activeRoom(): RoomView | undefined {
    return this.active === undefined ? undefined : this.rooms.get(this.active);
  }

  apply(event: ConnectionEvent): void {
    this.version += 1;
    switch (event.type) {
      case 'state': {
        const was = this.connection.kind;
        this.connection = event.state;
        if (event.state.kind !== 'closed') this.server = event.state.address;
        if (event.state.kind === 'reconnecting' && was !== 'reconnecting') this.note(this.activeRoom, 'error', `connection lost (${event.state.reason}); reconnecting`);
        if (event.state.kind === 'closed' && event.state.reason) this.note(this.activeRoom, 'error', `disconnected for good: ${event.state.reason}`);
        return;
      }
      case 'joined': {
        const known = this.rooms.get(event.room);
        const room = known ?? this.addRoom(event.room);
        room.members = new Map(event.ack.members.map((m) => [m.userId, sanitizeName(m.displayName || m.userId)]));
        if (this.wantShown === event.room) {
          this.wantShown = undefined;
          this.show(event.room);
        }
        if (known === undefined) {
          // History is what was said before: it is not unread.
          for (const message of event.ack.history) this.addMessage(room, message, false);
          this.note(room, 'notice', event.ack.welcomeMessage || `joined #${sanitizeName(event.room)}`);
        }
        return;
      }
      case 'message': {
        const room = this.rooms.get(event.room);
        if (room !== undefined) this.addMessage(room, event.message);
        return;
      }
      case 'user_joined':
      case 'user_left': {
        const room = this.rooms.get(event.room);
        if (room === undefined) return;
        const { userId, displayName } = event.notice;
        const name = sanitizeName(displayName || userId);
        if (event.type === 'user_joined') room.members.set(userId, name);
        else room.members.delete(userId);
        this.note(room, 'notice', `${name} ${event.type === 'user_joined' ? 'joined' : 'left'}`);
        return;
      }
      case 'error': {
        // An error about the room /join is waiting for, before its JoinAck, is the join refused:
        // what is typed goes to the room shown again, not to a room that will never be joined.
        if (this.wantShown === event.room && !this.rooms.has(event.room)) this.wantShown = undefined;
        const room = this.rooms.get(event.room) ?? this.activeRoom;
        room?.pending.delete(event.notice.clientMsgId);
        const where = this.rooms.has(event.room) || event.room === '' ? '' : ` (#${sanitizeName(event.room)})`;
        this.note(room, 'error', `${event.notice.code || 'ERROR'}${where}: ${event.notice.message}`);
        return;
      }
      case 'notice':
        this.note(this.rooms.get(event.room) ?? this.activeRoom, 'notice', event.notice.message);
        return;
      case 'pending': {
        const room = this.rooms.get(event.room);
        room?.pending.set(event.clientMsgId, this.line('pending', this.me.userId, this.myName, sanitize(event.content)));
        return;
      }
      case 'resumed': {
        const room = this.rooms.get(event.room);
        if (room === undefined) return;
        const s = event.restored === 1 ? '' : 's';
        // An incomplete resume has had its `missed` line; only what still came back is news.
        if (event.complete) this.note(room, 'notice', event.restored > 0 ? `back: ${event.restored} missed message${s} restored` : 'back: nothing was missed');
        else if (event.restored > 0) this.note(room, 'notice', `back: ${event.restored} message${s} the server still held restored`);
        return;
      }
      case 'missed': {
        const room = this.rooms.get(event.room);
        if (room === undefined) return;
        let text = 'back: the server restarted, so messages from before are gone';
        if (!event.restarted && event.missed === 0) text = 'back: some events may have been lost while away (no longer held by the server)';
        else if (!event.restarted) text = `back: ${event.missed} event${event.missed === 1 ? ' was' : 's were'} lost while away (no longer held by the server)`;
        this.note(room, 'error', text);
        return;
      }
      case 'refused': {
        const room = this.rooms.get(event.room);
        room?.pending.delete(event.clientMsgId);
        const where = room === undefined ? ` (#${sanitizeName(event.room)})` : '';
        this.note(room ?? this.activeRoom, 'error', `not sent${where}: ${event.reason}`);
        return;
      }
      case 'unsent': {
        const room = this.rooms.get(event.room);
        room?.pending.clear();
        const where = room === undefined ? ` (#${sanitizeName(event.room)})` : '';
        this.note(room ?? this.activeRoom, 'error', `not sent${where}: ${event.count} message${event.count === 1 ? '' : 's'}`);
        return;
      }
    }
  }

  /** Makes a room the one shown (its unread count goes to 0). */
  show(room: string): void {
    const view = this.rooms.get(room);
    if (view === undefined) return;
    this.active = room;
    view.unread = 0;
    this.version += 1;
  }

  /** Shows `room` once its JoinAck arrives (after /join). */
  showWhenJoined(room: string): void {
    this.wantShown = room;
  }

  /** Where a typed message goes: the room /join asked for last, else the one shown. */
  get target(): string | undefined {
    return this.wantShown ?? this.active;
  }

  /** Lines of the room shown, or the client's own lines when none is. */
  get shownLines(): ViewLine[] {
    return this.activeRoom?.lines ?? this.system;
  }

  /** Shows the next (or, with -1, previous) room. */
  cycle(step: 1 | -1): void {
    const names = [...this.rooms.keys()];
    if (names.length === 0) return;
    const at = this.active === undefined ? -1 : names.indexOf(this.active);
    this.show(names[(at + step + names.length) % names.length]!);
  }

  /** Forgets a room left. */
  remove(room: string): void {
    this.rooms.delete(room);
    // Left before its JoinAck: typing must not go on targeting it.
    if (this.wantShown === room) this.wantShown = undefined;
    if (this.active === room) {
      this.active = undefined;
      this.cycle(1);
    }
    this.version += 1;
  }

  /** Adds a line of the client's own (help, command output) to the active room. */
  say(text: string, kind: 'notice' | 'error' = 'notice'): void {
    this.version += 1;
    this.note(this.activeRoom, kind, text);
  }

  private get myName(): string {
    return sanitizeName(this.me.displayName || this.me.userId);
  }

  private addRoom(name: string): RoomView {
    const room: RoomView = { name, lines: [], members: new Map(), unread: 0, pending: new Map() };
    this.rooms.set(name, room);
    if (this.active === undefined) this.active = name;
    return room;
  }

  private addMessage(room: RoomView, message: ChatPayload, unread = true): void {
    room.pending.delete(message.clientMsgId);
    const own = message.userId === this.me.userId;
    const line = this.line(own ? 'own' : 'message', message.userId, sanitizeName(message.displayName || message.userId), sanitize(message.content));
    if (message.timestampUtc > 0) line.at = message.timestampUtc;
    this.push(room, line);
    if (unread && room.name !== this.active) room.unread += 1;
  }

  /**
   * A notice or error line in the room, or with the client's own lines when there is none.
   * Sanitizes here, so that no caller can forget it (sanitizing safe text changes nothing).
   */
  private note(room: RoomView | undefined, kind: 'notice' | 'error', text: string): void {
    const line = this.line(kind, '', '', sanitize(text));
    if (room !== undefined) this.push(room, line);
    else {
      this.system.push(line);
      if (this.system.length > MAX_LINES) this.system.shift();
    }
  }

  private line(kind: ViewLine['kind'], senderId: string, sender: string, text: string): ViewLine {
    return { id: this.nextId++, at: Date.now(), kind, senderId, sender, text };
  }

  private push(room: RoomView, line: ViewLine): void {
    room.lines.push(line);
    if (room.lines.length > MAX_LINES) room.lines.splice(0, room.lines.length - MAX_LINES);
  }
}
