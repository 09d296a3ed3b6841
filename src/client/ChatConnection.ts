import type { RoomInfo } from '../../gen/chat/v1/chat.js';
import { sleep } from '../lib/sleep.js';
import { Addresses } from './Addresses.js';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
import { type ChatEvent, seqOf } from './ChatEvent.js';
import { ChatClient, type ChatClientOptions } from './ChatClient.js';
import type { ChatSession, Identity } from './ChatSession.js';
import type { ConnectionEvent, ConnectionState } from './ConnectionEvent.js';
import { PendingSends } from './PendingSends.js';
import { RoomTracker } from './RoomTracker.js';
import { streamEnd } from './streamEnd.js';
import { tlsHint } from './tlsHint.js';

export interface ChatConnectionOptions {
  /**
   * host:port of the server, or several (a list, or one string separated by
   * commas): the first is tried first, and each reconnect goes to the next.
   */
  address: string | readonly string[];
  identity: Identity;
  /** How many recent messages a first join asks for. */
  history?: number;
  backoff?: Partial<BackoffOptions>;
  client?: ChatClientOptions;
  /** Most sends that may wait for the server's copy at once; more are refused. */
  maxPending?: number;
  /** Largest message content send() takes, in UTF-8 bytes (the server's CHAT_MAX_CONTENT_BYTES). */
  maxContentBytes?: number;
}

/** TYPE_ERROR codes that mean a join was refused (the room is not joined). */
const JOIN_REFUSED = new Set(['INVALID_ROOM', 'TOO_MANY_ROOMS', 'INVALID_DISPLAY_NAME', 'RATE_LIMITED', 'SERVER_ROOMS_FULL', 'ROOM_FULL', 'ROOM_BUSY']);

/**
 * A chat session that survives the network: one Channel stream at a time, and
 * when it ends for a reason a retry can fix (UNAVAILABLE, server drain, a reset
 * connection, a slow-consumer cut-off) it waits with exponential backoff and
 * jitter, opens a new connection and rejoins every room with after_seq/epoch.
 * Given several addresses, each new connection goes to the next one, and only a
 * full round of failures waits (see Addresses).
 * Listeners get each room event once and in order, whatever was replayed, and
 * sends made meanwhile are delivered once the room is back (or resent with the
 * same client_msg_id when the server's copy never came).
 */
export class ChatConnection {
  private readonly rooms = new Map<string, RoomTracker>();
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private readonly backoff: BackoffOptions;
  private readonly addresses: Addresses;
  private readonly stopped = new AbortController();
  private client?: ChatClient;
  private session?: ChatSession;
  private running?: Promise<void>;
  /** Sends waiting for the server's copy, and those written on the current stream. */
  private readonly pending: PendingSends;
  /** close() was called: send() refuses from then on. */
  private closing = false;
  private _state: ConnectionState;

  /** Throws when `options.address` is an empty list or has an empty entry. */
  constructor(private readonly options: ChatConnectionOptions) {
    this.addresses = new Addresses(options.address);
    this._state = { kind: 'connecting', address: this.addresses.current };
    this.backoff = { ...defaultBackoff, ...options.backoff };
    this.pending = new PendingSends(options);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get identity(): Identity {
    return this.options.identity;
  }

  /** The server in use, or the one tried next. */
  get address(): string {
    return this.addresses.current;
  }

  /** The rooms asked for, in the order they were joined. */
  get joinedRooms(): string[] {
    return [...this.rooms.keys()];
  }

  /** Listens to every event from now on; returns the way to stop. */
  subscribe(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connects (once); reconnects on its own until close(). */
  start(): void {
    this.running ??= this.run();
  }

  /** Joins a room now, and again after every reconnect. */
  join(room: string): void {
    if (this.rooms.has(room)) return;
    this.rooms.set(room, new RoomTracker(this.pending.addRoom(room)));
    this.session?.join(room, { history: this.options.history ?? 0 });
  }

  /** Leaves a room (for good: it is not rejoined). */
  leave(room: string): void {
    if (!this.rooms.delete(room)) return;
    this.pending.dropRoom(room);
    this.session?.leave(room);
  }

  /**
   * Sends a message; returns its client_msg_id. While the connection is down it
   * waits, and goes out once the room is rejoined.
   */
  send(room: string, content: string): string {
    if (this.closing || this._state.kind === 'closed') throw new Error('the connection is closed');
    const tracker = this.rooms.get(room);
    if (tracker === undefined) throw new Error(`not in #${room}: /join it first`);
    const clientMsgId = this.pending.add(room, content);
    this.emit({ type: 'pending', room, clientMsgId, content });
    if (tracker.ready) this.write(room, content, clientMsgId);
    return clientMsgId;
  }

  /** The rooms on the server now. */
  listRooms(): Promise<RoomInfo[]> {
    if (this.client === undefined) return Promise.reject(new Error('not connected'));
    return this.client.listRooms();
  }

  /**
   * Ends for good: half-closes the stream (the server leaves every room and ends
   * it OK), waits for that at most `graceMs`, then closes the connection.
   * Resolves once an 'unsent' event went out for each room with sends left.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    if (this.stopped.signal.aborted) return this.running;
    // Sends still waiting (for a JoinAck, or for their copy) go out first, if the connection lets them.
    const deadline = Date.now() + graceMs;
    const live = () => this._state.kind === 'connected' || this._state.kind === 'connecting';
    while (live() && !this.settled() && Date.now() < deadline) await sleep(10, this.stopped.signal);
    this.stopped.abort();
    this.session?.close();
    const timer = setTimeout(() => this.session?.cancel(), Math.max(100, deadline - Date.now()));
    try {
      await this.running;
    } finally {
      clearTimeout(timer);
      // A fatal end already said why it closed; keep that reason.
      if (this._state.kind !== 'closed') this.setState({ kind: 'closed' });
      this.reportUnsent();
    }
  }

  /** Tells, per room, how many sends will never go out, and forgets them. */
  private reportUnsent(): void {
    for (const [room, count] of this.pending.giveUp()) this.emit({ type: 'unsent', room, count });
  }

  /** Every room joined, and every send seen back from the server. */
  private settled(): boolean {
    return [...this.rooms.values()].every((r) => r.ready) && this.pending.size === 0;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const worked = () => {
      attempt = 0;
      this.addresses.worked();
    };
    for (;;) {
      const reason = await this.connectOnce(worked);
      if (this.stopped.signal.aborted) return;
      if (reason.fatal) {
        this.setState({ kind: 'closed', reason: reason.text });
        return this.reportUnsent();
      }
      attempt += 1;
      // The next address at once, unless that would start another round of them.
      const rounds = this.addresses.failed();
      const delay = rounds === 0 ? 0 : backoffDelay(rounds, this.backoff);
      const address = this.addresses.current;
      this.setState({ kind: 'reconnecting', attempt, at: Date.now() + delay, reason: reason.text, address });
      await sleep(delay, this.stopped.signal);
      if (this.stopped.signal.aborted) return;
      this.setState({ kind: 'connecting', address });
    }
  }

  /** One stream, from opening to its end; `onUp` when it proved to work. */
  private async connectOnce(onUp: () => void): Promise<{ fatal: boolean; text: string }> {
    // A fresh connection each time: grpc-js would otherwise apply its own,
    // slower backoff (up to 120 s) to a connection that failed before.
    const address = this.addresses.current;
    const client = new ChatClient(address, this.options.client);
    const session = client.openSession(this.options.identity);
    this.client = client;
    this.session = session;
    this.pending.newStream();
    for (const [room, tracker] of this.rooms) session.join(room, tracker.rejoin(this.options.history ?? 0));
    // Up means the TCP connection is ready (a stream with no rooms gets no events).
    client.waitForReady(new Date(Date.now() + 60_000)).then(
      () => {
        if (this.session !== session) return;
        if (this.rooms.size === 0) onUp();
        this.setState({ kind: 'connected', address });
      },
      () => {},
    );
    try {
      for await (const event of session) {
        if (event.type === 'joined') onUp();
        this.handle(event);
      }
      return { fatal: false, text: 'the server ended the stream' };
    } catch (error) {
      const end = streamEnd(error);
      // A token function gives the next connect its current token: a stream whose token ran out unrefreshed reconnects and resumes.
      if (end.text.startsWith('UNAUTHENTICATED: TOKEN_EXPIRED') && typeof this.options.client?.token === 'function') return { ...end, fatal: false };
      const hint = tlsHint(end.text, this.options.client?.tls !== undefined);
      if (hint !== undefined) end.text += ` (${hint})`;
      if (end.oversized) {
        const refused = this.pending.refuseLargest(end.text);
        if (refused !== undefined) this.emit(refused);
      }
      return end;
    } finally {
      this.session = undefined;
      this.client = undefined;
      client.close();
    }
  }

  private write(room: string, content: string, clientMsgId: string): void {
    if (this.session === undefined) return;
    this.pending.wrote(room, clientMsgId, content);
    this.session.send(room, content, clientMsgId);
  }

  private handle(event: ChatEvent): void {
    const room = this.rooms.get(event.room);
    if (room === undefined) {
      // Stream-wide notices, and the answer to a leave; not what was in flight for a room already left.
      if (event.type !== 'joined' && event.type !== 'message' && event.type !== 'user_joined') this.emit(event);
      return;
    }
    if (event.type === 'joined') return this.joined(event.room, room, event);
    // Only a notice about no send (no client_msg_id) refuses the join: a RATE_LIMITED chat does not.
    if (event.type === 'error' && !room.acked && event.notice.clientMsgId === '' && JOIN_REFUSED.has(event.notice.code)) {
      this.rooms.delete(event.room);
      this.pending.dropRoom(event.room);
      return this.emit(event);
    }
    if (event.type === 'error' && event.notice.clientMsgId !== '') this.pending.settle(event.room, event.notice.clientMsgId);
    if (event.type === 'notice' && event.notice.code === 'MISSED_EVENTS') {
      const missed = event.notice.missedCount;
      this.emit({ type: 'missed', room: event.room, missed, restarted: room.restarted });
      if (room.missedRest(missed)) this.replayed(event.room, room);
      return;
    }
    const seq = seqOf(event);
    if (seq > 0) {
      if (room.seen(seq)) return; // already passed on, before a reconnect
      if (room.passesReplay(seq)) this.replayed(event.room, room);
      room.pass(seq, event.type === 'message');
      if (event.type === 'message') this.pending.settle(event.room, event.message.clientMsgId);
    }
    this.emit(event);
    if (room.replayDone) this.replayed(event.room, room);
  }

  private joined(name: string, room: RoomTracker, event: Extract<ChatEvent, { type: 'joined' }>): void {
    const rejoin = room.ack(event.ack);
    this.emit(event);
    if (!rejoin) return this.flushPending(name, room);
    if (room.startReplay(event.ack.lastSeq)) this.replayed(name, room);
  }

  /** The rejoin's replay is through: say what came back, then send what waited. */
  private replayed(name: string, room: RoomTracker): void {
    this.emit({ type: 'resumed', room: name, ...room.endReplay() });
    this.flushPending(name, room);
  }

  private flushPending(name: string, room: RoomTracker): void {
    for (const [clientMsgId, content] of room.pending) this.write(name, content, clientMsgId);
  }

  private setState(state: ConnectionState): void {
    this._state = state;
    this.emit({ type: 'state', state });
  }

  private emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
