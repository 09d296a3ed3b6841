import { randomBytes } from 'node:crypto';
import {
  AlreadyJoinedError,
  type CutOffCause,
  ImpersonationError,
  InvalidContentError,
  InvalidDisplayNameError,
  InvalidRequestError,
  InvalidRoomError,
  NotJoinedError,
  RateLimitedError,
  ServerShutdownError,
  TooManyRoomsError,
} from './errors.js';
import type { EncodeEvent } from './events.js';
import type { EncodeBatch } from './Fanout.js';
import type { Limits } from './limits.js';
import { QueueBudget } from './QueueBudget.js';
import { type JoinResult, type PublishResult, Room, type RoomSummary } from './Room.js';
import { Session } from './Session.js';
import { checkContent, checkDisplayName, checkRoom, checkUserId } from './text.js';

export interface JoinCommand {
  userId: string;
  room: string;
  displayName: string;
  afterSeq: number;
  history: number;
  epoch: string;
  /** The client understands batched events; taken from the first join. */
  batchEvents: boolean;
}

export interface PublishCommand {
  userId: string;
  room: string;
  content: string;
  clientMsgId: string;
  traceContext: Record<string, string>;
}

export interface LeaveCommand {
  userId: string;
  room: string;
}

export interface HubOptions {
  limits: Limits;
  /** Encodes a domain event into wire bytes (the adapter's codec). */
  encode: EncodeEvent;
  /** Wall clock for message timestamps, in ms since the Unix epoch. */
  now?: () => number;
  /** Packs encoded events into one batch event, for sessions that understand batches (enables coalescing for them). */
  encodeBatch?: EncodeBatch;
  /** Packs encoded events into a run that is still written as those events, for the other sessions (enables coalescing for them). */
  encodeRun?: EncodeBatch;
  /** The largest run a room packs (the adapter's largest write). */
  maxRunBytes?: number;
  /** Told when a session is cut off as a slow consumer (its stream may end much later). */
  onCutOff?: (session: Session, cause: CutOffCause) => void;
  /** Told each time a room stops accepting publishes, or the whole server does (over its queue budget). */
  onPause?: (scope: 'room' | 'server') => void;
}

/** What a request waits for before it may run. */
export type Admission = 'publish' | 'join' | 'other';

/** What the backpressure policy did since the hub started. */
export interface BackpressureStats {
  /** Times a room stopped accepting publishes and joins. */
  roomPauses: number;
  /** Times the whole server did (over its queue budget). */
  serverPauses: number;
  /** Streams cut off as slow consumers, by cause. */
  cutOffs: Record<CutOffCause, number>;
}

/**
 * The rooms and sessions of one server. It checks identity, rate and text limits,
 * then hands each command to its room; it frees rooms that stay empty past their
 * grace period. Errors are thrown as the domain's typed errors (errors.ts).
 *
 * It also owns the backpressure policy's clock: a sweep every `sweepMs` finds the
 * sessions whose output has waited with no write started, gives up waiting for
 * them after the stall grace (their rooms go on) and cuts them off after the
 * write deadline, or at once when the server is over its queue budget.
 */
export class Hub {
  private readonly rooms = new Map<string, Room>();
  private readonly sessions = new Set<Session>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  private nextSessionId = 1;
  private idleWaiters: Array<() => void> = [];
  private readonly limits: Limits;
  private readonly encode: EncodeEvent;
  private readonly now: () => number;
  private readonly encodeBatch: EncodeBatch | undefined;
  private readonly encodeRun: EncodeBatch | undefined;
  private readonly maxRunBytes: number;
  private readonly onCutOff: ((session: Session, cause: CutOffCause) => void) | undefined;
  private readonly onPause: (scope: 'room' | 'server') => void;
  private readonly budget: QueueBudget;
  /** What the backpressure policy did so far (logged at drain). */
  readonly backpressure: BackpressureStats = { roomPauses: 0, serverPauses: 0, cutOffs: { write_deadline: 0, queue_bound: 0, budget: 0 } };
  private readonly sweeper: NodeJS.Timeout;
  /** How often the sweep runs; stalls and deadlines are counted in its rounds. */
  readonly sweepMs: number;

  constructor(options: HubOptions) {
    this.limits = options.limits;
    this.encode = options.encode;
    this.now = options.now ?? Date.now;
    this.encodeBatch = options.encodeBatch;
    this.encodeRun = options.encodeRun;
    this.maxRunBytes = options.maxRunBytes ?? Infinity;
    this.onCutOff = options.onCutOff;
    const onPause = options.onPause;
    this.onPause = (scope) => {
      if (scope === 'room') this.backpressure.roomPauses += 1;
      else this.backpressure.serverPauses += 1;
      onPause?.(scope);
    };
    this.budget = new QueueBudget(this.limits.queueBudgetBytes, () => this.onPause('server'));
    this.sweepMs = Math.max(5, Math.floor(Math.min(this.limits.stallGraceMs, this.limits.writeDeadlineMs) / 4));
    this.sweeper = setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  /** Open sessions (streams). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Rooms alive, including empty ones in their grace period. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Members of all rooms (a user in two rooms counts twice). */
  get memberCount(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.memberCount;
    return n;
  }

  /** Events and bytes waiting in every session's queue. */
  queued(): { events: number; bytes: number } {
    let events = 0;
    for (const session of this.sessions) events += session.queue.length;
    return { events, bytes: this.budget.used };
  }

  /** Rooms not accepting publishes now, and whether the whole server is paused (over its queue budget). */
  paused(): { rooms: number; server: boolean } {
    let rooms = 0;
    for (const room of this.rooms.values()) if (!room.accepting) rooms += 1;
    return { rooms, server: this.budget.paused };
  }

  /** Starts a session for a new stream. */
  openSession(): Session {
    const session = new Session(this.nextSessionId++, this.limits, this.encode, this.budget, {
      cutOff: (s, cause) => {
        this.backpressure.cutOffs[cause] += 1;
        this.onCutOff?.(s, cause);
        this.closeSession(s);
      },
    });
    this.sessions.add(session);
    return session;
  }

  /**
   * What a request must wait for before it runs, or undefined to run it now.
   * Publishes and joins wait while the server is over its queue budget or their
   * room is not accepting; every request waits while its own stream is behind
   * (a client is read no faster than it reads). The caller asks again after the
   * wait: another reason may have come up meanwhile.
   */
  admission(session: Session, kind: Admission, room: string): Promise<void> | undefined {
    if (kind !== 'other') {
      if (this.budget.paused) return this.budget.whenResumed();
      const target = this.rooms.get(room);
      if (target !== undefined && !target.accepting) return target.whenAccepting();
    }
    if (session.behind && !session.queue.closed) return session.whenCaughtUp();
    return undefined;
  }

  /**
   * One round of the backpressure clock (run every sweepMs): a session whose
   * output has waited through more than the stall grace with no write started is
   * given up on (its rooms stop waiting for it); through more than the write
   * deadline, it is cut off. Over the queue budget, such sessions are cut off at
   * once, largest queue first, until the budget is back under its resume mark.
   */
  sweep(): void {
    const graceRounds = Math.ceil(this.limits.stallGraceMs / this.sweepMs) + 1;
    const deadlineRounds = Math.ceil(this.limits.writeDeadlineMs / this.sweepMs) + 1;
    const idle: Session[] = [];
    for (const session of this.sessions) {
      const rounds = session.idleRounds();
      if (rounds >= deadlineRounds) session.cutOff('write_deadline');
      else if (rounds >= graceRounds) {
        session.markStalled();
        idle.push(session);
      }
    }
    if (!this.budget.paused) return;
    for (const session of idle.sort((a, b) => b.queue.bytes - a.queue.bytes)) {
      if (this.budget.used <= this.budget.resumeAt) break;
      session.cutOff('budget');
    }
  }

  join(session: Session, cmd: JoinCommand): JoinResult {
    if (!session.bound) {
      if (cmd.userId === '') throw new InvalidRequestError('user_id is required on the first join');
      const refusal = checkUserId(cmd.userId, this.limits.maxUserIdLength);
      if (refusal) throw new InvalidRequestError(refusal);
    }
    this.admit(session, cmd.userId, cmd.room, '');
    if (session.rooms.has(cmd.room)) {
      throw new AlreadyJoinedError(`already in #${cmd.room} on this stream`, cmd.room);
    }
    if (session.rooms.size >= this.limits.maxRoomsPerStream) {
      throw new TooManyRoomsError(`a stream may be in at most ${this.limits.maxRoomsPerStream} rooms`, cmd.room);
    }
    if (!session.bound) {
      const displayName = cmd.displayName === '' ? cmd.userId : cmd.displayName;
      const refusal = checkDisplayName(displayName, this.limits.maxDisplayNameLength);
      if (refusal) throw new InvalidDisplayNameError(refusal, cmd.room);
      session.userId = cmd.userId;
      session.displayName = displayName;
      session.batching = cmd.batchEvents;
      session.packRun = cmd.batchEvents ? this.encodeBatch : this.encodeRun;
    }
    const room = this.roomFor(cmd.room);
    session.rooms.set(room.name, room);
    return room.join(session, cmd);
  }

  publish(session: Session, cmd: PublishCommand): PublishResult {
    this.admit(session, cmd.userId, cmd.room, cmd.clientMsgId);
    const room = session.rooms.get(cmd.room);
    if (room === undefined) throw new NotJoinedError(`not in #${cmd.room}`, cmd.room, cmd.clientMsgId);
    const refusal = checkContent(cmd.content, this.limits.maxContentBytes);
    if (refusal) throw new InvalidContentError(refusal, cmd.room, cmd.clientMsgId);
    return room.publish(session, cmd.content, cmd.clientMsgId, cmd.traceContext);
  }

  leave(session: Session, cmd: LeaveCommand): void {
    this.admit(session, cmd.userId, cmd.room, '');
    const room = session.rooms.get(cmd.room);
    if (room === undefined) throw new NotJoinedError(`not in #${cmd.room}`, cmd.room);
    session.rooms.delete(room.name);
    room.leave(session, true);
    this.releaseIfEmpty(room);
  }

  /** Leaves every room the session is in and forgets it. Safe to call twice. */
  closeSession(session: Session): void {
    if (!this.sessions.delete(session)) return;
    // One room at a time out of session.rooms, so that what the leaves deliver
    // to the session never counts it in a room it has left.
    for (const room of [...session.rooms.values()]) {
      session.rooms.delete(room.name);
      room.leave(session, false);
      this.releaseIfEmpty(room);
    }
    if (this.sessions.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  listRooms(): RoomSummary[] {
    return [...this.rooms.values()].map((room) => room.summary()).sort((a, b) => (a.room < b.room ? -1 : 1));
  }

  /** Tells every session the server is shutting down, then ends each once its queue is written. */
  drain(): void {
    for (const room of this.rooms.values()) room.flush();
    for (const session of this.sessions) {
      session.send({
        kind: 'generic',
        code: 'SERVER_SHUTDOWN',
        message: 'the server is shutting down; reconnect and resume',
        room: '',
      });
      session.queue.close(new ServerShutdownError('SERVER_SHUTDOWN: the server is shutting down'));
    }
  }

  /** Resolves once no session is open. */
  whenIdle(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the sweep and the grace timers (for a server that is going away). */
  dispose(): void {
    clearInterval(this.sweeper);
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
  }

  /** Identity first (no one speaks as someone else), then the rate, then the room name. */
  private admit(session: Session, userId: string, room: string, clientMsgId: string): void {
    if (session.bound && userId !== '' && userId !== session.userId) {
      throw new ImpersonationError(`this stream is bound to user "${session.userId}", not "${userId}"`);
    }
    if (!session.rate.take()) {
      throw new RateLimitedError(
        `more than ${this.limits.ratePerSecond} requests per second (burst ${this.limits.rateBurst})`,
        room,
        clientMsgId,
      );
    }
    const refusal = checkRoom(room, this.limits.maxRoomLength);
    if (refusal) throw new InvalidRoomError(refusal, room, clientMsgId);
  }

  private roomFor(name: string): Room {
    const timer = this.graceTimers.get(name);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.graceTimers.delete(name);
    }
    let room = this.rooms.get(name);
    if (room === undefined) {
      room = new Room(name, randomBytes(6).toString('base64url'), this.limits, this.encode, this.now, this.maxRunBytes, () => this.onPause('room'));
      this.rooms.set(name, room);
    }
    return room;
  }

  /** An empty room keeps its history for the grace period, so a lone member can resume. */
  private releaseIfEmpty(room: Room): void {
    if (!room.isEmpty || this.graceTimers.has(room.name)) return;
    const free = () => {
      this.graceTimers.delete(room.name);
      if (room.isEmpty && this.rooms.get(room.name) === room) this.rooms.delete(room.name);
    };
    if (this.limits.roomGraceMs <= 0) return free();
    this.graceTimers.set(room.name, setTimeout(free, this.limits.roomGraceMs).unref());
  }
}
