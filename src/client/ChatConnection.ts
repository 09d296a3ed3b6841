import { randomUUID } from 'node:crypto';
import { ClientError, Status } from 'nice-grpc';
import type { RoomInfo } from '../../gen/chat/v1/chat.js';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
import { type ChatEvent, seqOf } from './ChatEvent.js';
import { ChatClient, type ChatClientOptions } from './ChatClient.js';
import type { ChatSession, Identity } from './ChatSession.js';
import type { ConnectionEvent, ConnectionState } from './ConnectionEvent.js';

export interface ChatConnectionOptions {
  /** host:port of the server. */
  address: string;
  identity: Identity;
  /** How many recent messages a first join asks for. */
  history?: number;
  backoff?: Partial<BackoffOptions>;
  client?: ChatClientOptions;
  /** Most sends that may wait for the server's copy at once; more are refused. */
  maxPending?: number;
}

/** What the connection remembers of a room it was asked to be in. */
interface RoomState {
  /** Newest room seq passed on (events at or below it are duplicates). */
  lastSeq: number;
  /** The room life lastSeq belongs to ('' before the first JoinAck). */
  epoch: string;
  /** JoinAck seen on the current stream. */
  acked: boolean;
  /** After a rejoin: the ack's last_seq, until the replay up to it is through. */
  replayUntil?: number;
  /** The last rejoin found a new life of the room (its seq started over). */
  restarted: boolean;
  /** The last rejoin's JoinAck said its replay holds everything missed. */
  recovered: boolean;
  restored: number;
  /** Sends not yet seen come back from the server, by client_msg_id. */
  pending: Map<string, string>;
}

/** Codes a retry cannot fix: the server refused who we are or what we sent. */
const FATAL = new Set([Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED, Status.UNIMPLEMENTED]);
/** TYPE_ERROR codes that mean a join was refused (the room is not joined). */
const JOIN_REFUSED = new Set(['INVALID_ROOM', 'TOO_MANY_ROOMS', 'INVALID_DISPLAY_NAME', 'RATE_LIMITED']);

/**
 * A chat session that survives the network: one Channel stream at a time, and
 * when it ends for a reason a retry can fix (UNAVAILABLE, server drain, a reset
 * connection, a slow-consumer cut-off) it waits with exponential backoff and
 * jitter, opens a new connection and rejoins every room with after_seq/epoch.
 * Listeners get each room event once and in order, whatever was replayed, and
 * sends made meanwhile are delivered once the room is back (or resent with the
 * same client_msg_id when the server's copy never came).
 */
export class ChatConnection {
  private readonly rooms = new Map<string, RoomState>();
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private readonly backoff: BackoffOptions;
  private readonly stopped = new AbortController();
  private client?: ChatClient;
  private session?: ChatSession;
  private running?: Promise<void>;
  private _state: ConnectionState = { kind: 'connecting' };

  constructor(private readonly options: ChatConnectionOptions) {
    this.backoff = { ...defaultBackoff, ...options.backoff };
  }

  get state(): ConnectionState {
    return this._state;
  }

  get identity(): Identity {
    return this.options.identity;
  }

  get address(): string {
    return this.options.address;
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
    this.rooms.set(room, { lastSeq: 0, epoch: '', acked: false, restored: 0, restarted: false, recovered: true, pending: new Map() });
    this.session?.join(room, { history: this.options.history ?? 0 });
  }

  /** Leaves a room (for good: it is not rejoined). */
  leave(room: string): void {
    if (!this.rooms.delete(room)) return;
    this.session?.leave(room);
  }

  /**
   * Sends a message; returns its client_msg_id. While the connection is down it
   * waits, and goes out once the room is rejoined.
   */
  send(room: string, content: string): string {
    const state = this.rooms.get(room);
    if (state === undefined) throw new Error(`not in #${room}: /join it first`);
    const pendingCount = [...this.rooms.values()].reduce((n, r) => n + r.pending.size, 0);
    if (pendingCount >= (this.options.maxPending ?? 100)) throw new Error('too many messages are waiting to be sent; wait for the connection');
    const clientMsgId = randomUUID();
    state.pending.set(clientMsgId, content);
    this.emit({ type: 'pending', room, clientMsgId, content });
    if (state.acked && state.replayUntil === undefined) this.session?.send(room, content, clientMsgId);
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
   */
  async close(graceMs = 2000): Promise<void> {
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
      this.setState({ kind: 'closed' });
    }
  }

  /** Every room joined, and every send seen back from the server. */
  private settled(): boolean {
    return [...this.rooms.values()].every((r) => r.acked && r.replayUntil === undefined && r.pending.size === 0);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    for (;;) {
      const reason = await this.connectOnce(() => (attempt = 0));
      if (this.stopped.signal.aborted) return;
      if (reason.fatal) return this.setState({ kind: 'closed', reason: reason.text });
      attempt += 1;
      const delay = backoffDelay(attempt, this.backoff);
      this.setState({ kind: 'reconnecting', attempt, at: Date.now() + delay, reason: reason.text });
      await sleep(delay, this.stopped.signal);
      if (this.stopped.signal.aborted) return;
      this.setState({ kind: 'connecting' });
    }
  }

  /** One stream, from opening to its end; `onUp` when it proved to work. */
  private async connectOnce(onUp: () => void): Promise<{ fatal: boolean; text: string }> {
    // A fresh connection each time: grpc-js would otherwise apply its own,
    // slower backoff (up to 120 s) to a connection that failed before.
    const client = new ChatClient(this.options.address, this.options.client);
    const session = client.openSession(this.options.identity);
    this.client = client;
    this.session = session;
    for (const [room, state] of this.rooms) {
      state.acked = false;
      const resume = state.epoch !== '' ? { afterSeq: state.lastSeq, epoch: state.epoch } : { history: this.options.history ?? 0 };
      session.join(room, resume);
    }
    // Up means the TCP connection is ready (a stream with no rooms gets no events).
    client.waitForReady(new Date(Date.now() + 60_000)).then(
      () => {
        if (this.session !== session) return;
        if (this.rooms.size === 0) onUp();
        this.setState({ kind: 'connected' });
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
      if (error instanceof ClientError) return { fatal: FATAL.has(error.code), text: `${Status[error.code]}: ${error.details}` };
      return { fatal: false, text: String(error) };
    } finally {
      this.session = undefined;
      this.client = undefined;
      client.close();
    }
  }

  private handle(event: ChatEvent): void {
    const room = this.rooms.get(event.room);
    if (room === undefined) {
      // Stream-wide notices, and the answer to a leave; not what was in flight for a room already left.
      if (event.type !== 'joined' && event.type !== 'message' && event.type !== 'user_joined') this.emit(event);
      return;
    }
    if (event.type === 'joined') return this.joined(event.room, room, event);
    if (event.type === 'error' && !room.acked && JOIN_REFUSED.has(event.notice.code)) {
      this.rooms.delete(event.room);
      return this.emit(event);
    }
    if (event.type === 'error' && event.notice.clientMsgId !== '') room.pending.delete(event.notice.clientMsgId);
    if (event.type === 'notice' && event.notice.code === 'MISSED_EVENTS') {
      return this.emit({ type: 'missed', room: event.room, missed: event.notice.missedCount, restarted: room.restarted });
    }
    const seq = seqOf(event);
    if (seq > 0) {
      if (seq <= room.lastSeq) return; // already passed on, before a reconnect
      if (room.replayUntil !== undefined && seq > room.replayUntil) this.replayed(event.room, room);
      room.lastSeq = seq;
      if (event.type === 'message') {
        room.pending.delete(event.message.clientMsgId);
        if (room.replayUntil !== undefined) room.restored += 1;
      }
    }
    this.emit(event);
    if (room.replayUntil !== undefined && room.lastSeq >= room.replayUntil) this.replayed(event.room, room);
  }

  private joined(name: string, room: RoomState, event: Extract<ChatEvent, { type: 'joined' }>): void {
    const { ack } = event;
    const rejoin = room.epoch !== '';
    // A new life of the room starts its seq over: what it replays is all new.
    room.restarted = rejoin && ack.epoch !== room.epoch;
    room.recovered = ack.recovered;
    if (room.restarted) room.lastSeq = 0;
    if (!rejoin) room.lastSeq = ack.lastSeq;
    room.epoch = ack.epoch;
    room.acked = true;
    this.emit(event);
    if (rejoin) {
      room.replayUntil = ack.lastSeq;
      room.restored = 0;
      if (room.lastSeq >= ack.lastSeq) this.replayed(name, room);
    } else this.flushPending(name, room);
  }

  /** The rejoin's replay is through: say what came back, then send what waited. */
  private replayed(name: string, room: RoomState): void {
    room.replayUntil = undefined;
    this.emit({ type: 'resumed', room: name, restored: room.restored, complete: room.recovered });
    this.flushPending(name, room);
  }

  private flushPending(name: string, room: RoomState): void {
    for (const [clientMsgId, content] of room.pending) this.session?.send(name, content, clientMsgId);
  }

  private setState(state: ConnectionState): void {
    this._state = state;
    this.emit({ type: 'state', state });
  }

  private emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** Waits `ms`, or less if the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
