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
  /** Largest message content send() takes, in UTF-8 bytes (the server's CHAT_MAX_CONTENT_BYTES). */
  maxContentBytes?: number;
}

/** A send written on the current stream, in case the server ends the stream because of it. */
interface Written {
  room: string;
  clientMsgId: string;
  bytes: number;
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
/** The server's default CHAT_MAX_CONTENT_BYTES (src/domain/limits.ts; the client layer may not import it). */
const MAX_CONTENT_BYTES = 4096;
/** In the details of a RESOURCE_EXHAUSTED end that is a slow-consumer cut-off, not a refused envelope. */
const SLOW_CONSUMER = 'SLOW_CONSUMER';

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
  /** close() was called: send() refuses from then on. */
  private closing = false;
  /** Sends written on the current stream and not yet answered, by client_msg_id. */
  private written = new Map<string, Written>();
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
    if (this.closing || this._state.kind === 'closed') throw new Error('the connection is closed');
    const state = this.rooms.get(room);
    if (state === undefined) throw new Error(`not in #${room}: /join it first`);
    const bytes = Buffer.byteLength(content);
    const maxBytes = this.options.maxContentBytes ?? MAX_CONTENT_BYTES;
    // The server would end the whole stream for it, and a resend after every reconnect would loop.
    if (bytes > maxBytes) throw new Error(`message is ${bytes} bytes, more than ${maxBytes}`);
    const pendingCount = [...this.rooms.values()].reduce((n, r) => n + r.pending.size, 0);
    if (pendingCount >= (this.options.maxPending ?? 100)) throw new Error('too many messages are waiting to be sent; wait for the connection');
    const clientMsgId = randomUUID();
    state.pending.set(clientMsgId, content);
    this.emit({ type: 'pending', room, clientMsgId, content });
    if (state.acked && state.replayUntil === undefined) this.write(room, content, clientMsgId);
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
    for (const [room, state] of this.rooms) {
      if (state.pending.size === 0) continue;
      const count = state.pending.size;
      state.pending.clear();
      this.emit({ type: 'unsent', room, count });
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
      if (reason.fatal) {
        this.setState({ kind: 'closed', reason: reason.text });
        return this.reportUnsent();
      }
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
    this.written = new Map();
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
      if (error instanceof ClientError && error.code === Status.RESOURCE_EXHAUSTED && !error.details.includes(SLOW_CONSUMER)) this.refuseLargest(`RESOURCE_EXHAUSTED: ${error.details}`);
      if (error instanceof ClientError) return { fatal: FATAL.has(error.code), text: `${Status[error.code]}: ${error.details}` };
      return { fatal: false, text: String(error) };
    } finally {
      this.session = undefined;
      this.client = undefined;
      client.close();
    }
  }

  /**
   * The server ended the stream for an envelope over its size limit (grpc-js
   * max_receive_message_length), which does not say which one: the largest send
   * written on this stream and not seen back is taken as refused, so that it is
   * not resent after every reconnect.
   */
  private refuseLargest(status: string): void {
    let culprit: Written | undefined;
    for (const w of this.written.values()) {
      if (this.rooms.get(w.room)?.pending.has(w.clientMsgId) !== true) continue;
      if (culprit === undefined || w.bytes > culprit.bytes) culprit = w;
    }
    if (culprit === undefined) return;
    this.rooms.get(culprit.room)!.pending.delete(culprit.clientMsgId);
    this.emit({ type: 'refused', room: culprit.room, clientMsgId: culprit.clientMsgId, reason: `the server refused a message of ${culprit.bytes} bytes (${status})` });
  }

  private write(room: string, content: string, clientMsgId: string): void {
    if (this.session === undefined) return;
    this.written.set(clientMsgId, { room, clientMsgId, bytes: Buffer.byteLength(content) });
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
      return this.emit(event);
    }
    if (event.type === 'error' && event.notice.clientMsgId !== '') {
      room.pending.delete(event.notice.clientMsgId);
      this.written.delete(event.notice.clientMsgId);
    }
    if (event.type === 'notice' && event.notice.code === 'MISSED_EVENTS') {
      const missed = event.notice.missedCount;
      this.emit({ type: 'missed', room: event.room, missed, restarted: room.restarted });
      // Everything up to the ack's last_seq was lost (a server that holds no events replays
      // nothing), so no replayed event would end the replay: it is through now.
      if (room.replayUntil !== undefined && missed > 0 && room.lastSeq + missed >= room.replayUntil) this.replayed(event.room, room);
      return;
    }
    const seq = seqOf(event);
    if (seq > 0) {
      if (seq <= room.lastSeq) return; // already passed on, before a reconnect
      if (room.replayUntil !== undefined && seq > room.replayUntil) this.replayed(event.room, room);
      room.lastSeq = seq;
      if (event.type === 'message') {
        room.pending.delete(event.message.clientMsgId);
        this.written.delete(event.message.clientMsgId);
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
