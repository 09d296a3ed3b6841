import { randomBytes } from 'node:crypto';
import { InvalidContentError, NotJoinedError, ServerShutdownError } from './errors.js';
import type { EncodeEvent } from './events.js';
import type { Backplane } from './Backplane.js';
import { type Admission, Backpressure, type BackpressureHooks, type BackpressureStats } from './Backpressure.js';
import type { EncodeBatch } from './Fanout.js';
import type { Limits } from './limits.js';
import { type JoinResult, type PublishResult, Room, type RoomSummary } from './Room.js';
import { Session, type VerifiedUser } from './Session.js';
import { RequestChecks } from './RequestChecks.js';
import { checkContent } from './text.js';

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

export interface HubOptions extends BackpressureHooks {
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
  /** Rooms shared with other servers (scale-out); none: every room is sequenced here. */
  backplane?: Backplane;
}

/**
 * The rooms and sessions of one server. It checks identity, rate and text limits,
 * then hands each command to its room; it frees rooms that stay empty past their
 * grace period. Errors are thrown as the domain's typed errors (errors.ts).
 * Its sessions and rooms answer to one backpressure policy (Backpressure).
 */
export class Hub {
  private readonly rooms = new Map<string, Room>();
  private readonly sessions = new Set<Session>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  /** Shared joins waiting for their owner's answer, per room: freeing such a room would leave its joiner in a room nobody follows. */
  private readonly joining = new Map<Room, number>();
  private nextSessionId = 1;
  private idleWaiters: Array<() => void> = [];
  private readonly limits: Limits;
  private readonly encode: EncodeEvent;
  private readonly now: () => number;
  private readonly encodeBatch: EncodeBatch | undefined;
  private readonly encodeRun: EncodeBatch | undefined;
  private readonly maxRunBytes: number;
  private readonly policy: Backpressure;
  private readonly checks: RequestChecks;
  /** Set when rooms are sequenced by their owner node (Backplane). */
  readonly backplane: Backplane | undefined;

  constructor(options: HubOptions) {
    this.backplane = options.backplane;
    this.limits = options.limits;
    this.encode = options.encode;
    this.now = options.now ?? Date.now;
    this.encodeBatch = options.encodeBatch;
    this.encodeRun = options.encodeRun;
    this.maxRunBytes = options.maxRunBytes ?? Infinity;
    this.policy = new Backpressure(this.limits, this.sessions, options);
    this.checks = new RequestChecks(this.limits);
  }

  /** What the backpressure policy did so far (logged at drain). */
  get backpressure(): BackpressureStats {
    return this.policy.stats;
  }

  /** How often the backpressure sweep runs. */
  get sweepMs(): number {
    return this.policy.sweepMs;
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
    return { events, bytes: this.policy.budget.used };
  }

  /** Rooms not accepting publishes now, and whether the whole server is paused (over its queue budget). */
  paused(): { rooms: number; server: boolean } {
    let rooms = 0;
    for (const room of this.rooms.values()) if (!room.accepting) rooms += 1;
    return { rooms, server: this.policy.budget.paused };
  }

  /** Starts a session for a new stream; `verified`: the user its first join binds (auth on). */
  openSession(verified?: VerifiedUser): Session {
    const session = new Session(this.nextSessionId++, this.limits, this.encode, this.policy.budget, {
      cutOff: (s, cause) => {
        this.policy.cutOff(s, cause);
        this.closeSession(s);
      },
    });
    session.verified = verified;
    this.sessions.add(session);
    return session;
  }

  /** What a request must wait for before it runs (Backpressure.admission), or undefined. */
  admission(session: Session, kind: Admission, room: string): Promise<void> | undefined {
    return this.policy.admission(session, kind, this.rooms.get(room));
  }

  /** One round of the backpressure clock (Backpressure.sweep); it also runs on its own every sweepMs. */
  sweep(): void {
    this.policy.sweep();
  }

  join(session: Session, cmd: JoinCommand): JoinResult {
    return this.entered(session, cmd).join(session, cmd);
  }

  /** A join of a room sequenced by its owner node (Backplane): resolves once the owner has answered. */
  async joinShared(session: Session, cmd: JoinCommand): Promise<JoinResult> {
    const room = this.entered(session, cmd);
    this.joining.set(room, (this.joining.get(room) ?? 0) + 1);
    let view;
    try {
      view = await this.backplane!.join(session, room, cmd);
    } catch (error) {
      this.answered(room);
      if (session.rooms.get(room.name) === room) session.rooms.delete(room.name);
      this.releaseIfEmpty(room);
      // The owner may have taken the join before the answer was lost: take it back (a leave of a session it does not hold changes nothing).
      void this.backplane!.leave(session, room).catch(() => {});
      throw error;
    }
    this.answered(room);
    // Closed (or left) while the owner answered. Its leave may have reached the owner before this
    // join did (sent while this node was still starting to follow the room): leave once more, after it.
    if (session.rooms.get(room.name) !== room) {
      this.releaseIfEmpty(room);
      void this.backplane!.leave(session, room).catch(() => {});
      return { resumed: false, recovered: false, members: view.members.length };
    }
    return room.attach(session, cmd, view);
  }

  private answered(room: Room): void {
    const left = (this.joining.get(room) ?? 1) - 1;
    if (left > 0) this.joining.set(room, left);
    else this.joining.delete(room);
  }

  /** Checks a join and binds the session (on its first), then puts it in the room's list: the room to join. */
  private entered(session: Session, cmd: JoinCommand): Room {
    // Rooms nobody is in (kept for their grace period) make way for new ones at the limit,
    // so one client joining and leaving many names cannot hold every place.
    const taken = this.rooms.size - (this.graceTimers.size > 0 ? 1 : 0);
    const who = this.checks.join(session, cmd, this.rooms.get(cmd.room), taken);
    if (!session.bound) {
      session.userId = who.userId;
      session.displayName = who.displayName;
      session.batching = cmd.batchEvents;
      session.packRun = cmd.batchEvents ? this.encodeBatch : this.encodeRun;
    }
    const fresh = !this.rooms.has(cmd.room);
    if (fresh && this.rooms.size >= this.limits.maxRooms) this.freeOldestEmpty();
    const room = this.roomFor(cmd.room);
    // A new room's first member spends its churn too (an existing room's was spent in admitJoin).
    if (fresh) room.churn.take();
    session.rooms.set(room.name, room);
    return room;
  }

  publish(session: Session, cmd: PublishCommand): PublishResult {
    this.checks.request(session, cmd.userId, cmd.room, cmd.clientMsgId);
    const room = session.rooms.get(cmd.room);
    if (room === undefined) throw new NotJoinedError(`not in #${cmd.room}`, cmd.room, cmd.clientMsgId);
    const refusal = checkContent(cmd.content, this.limits.maxContentBytes);
    if (refusal) throw new InvalidContentError(refusal, cmd.room, cmd.clientMsgId);
    return room.publish(session, cmd.content, cmd.clientMsgId, cmd.traceContext);
  }

  /**
   * A publish to a room sequenced by its owner node: checked here (so every
   * node refuses the same), then resolves with its seq once stored and applied
   * here (it reaches members, its sender too, through the room's events).
   */
  publishShared(session: Session, cmd: PublishCommand): Promise<number> {
    this.checks.request(session, cmd.userId, cmd.room, cmd.clientMsgId);
    const room = session.rooms.get(cmd.room);
    if (room === undefined) throw new NotJoinedError(`not in #${cmd.room}`, cmd.room, cmd.clientMsgId);
    const refusal = checkContent(cmd.content, this.limits.maxContentBytes);
    if (refusal) throw new InvalidContentError(refusal, cmd.room, cmd.clientMsgId);
    return this.backplane!.publish(session, room, cmd);
  }

  leave(session: Session, cmd: LeaveCommand): void {
    const room = this.left(session, cmd);
    room.leave(session, true);
    this.releaseIfEmpty(room);
  }

  /** A leave of a room sequenced by its owner node (Backplane): resolves once the owner has answered. */
  leaveShared(session: Session, cmd: LeaveCommand): Promise<void> {
    return this.leaveRemote(this.backplane!, session, this.left(session, cmd), true);
  }

  /** Checks a leave and takes the room out of the session's list: the room left. */
  private left(session: Session, cmd: LeaveCommand): Room {
    this.checks.request(session, cmd.userId, cmd.room, '');
    const room = session.rooms.get(cmd.room);
    if (room === undefined) throw new NotJoinedError(`not in #${cmd.room}`, cmd.room);
    session.rooms.delete(room.name);
    return room;
  }

  /** Leaves every room the session is in and forgets it. Safe to call twice. */
  closeSession(session: Session): void {
    if (!this.sessions.delete(session)) return;
    // One room at a time out of session.rooms, so that what the leaves deliver
    // to the session never counts it in a room it has left.
    for (const room of [...session.rooms.values()]) {
      session.rooms.delete(room.name);
      if (this.backplane !== undefined) {
        void this.leaveRemote(this.backplane, session, room, false).catch(() => {});
        continue;
      }
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
    this.policy.dispose();
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
  }

  private async leaveRemote(backplane: Backplane, session: Session, room: Room, explicit: boolean): Promise<void> {
    room.detach(session);
    this.releaseIfEmpty(room);
    const seq = await backplane.leave(session, room);
    // An explicit leave deserves its answer: the user's leave notice, or that only this session left.
    if (!explicit) return;
    const info = { userId: session.userId, displayName: session.displayName };
    if (seq !== undefined) session.send({ kind: 'user_left', room: room.name, seq, ...info });
    else session.send({ kind: 'session_left', room: room.name, ...info });
  }

  private roomFor(name: string): Room {
    const timer = this.graceTimers.get(name);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.graceTimers.delete(name);
    }
    let room = this.rooms.get(name);
    if (room === undefined) {
      room = new Room(name, randomBytes(6).toString('base64url'), this.limits, this.encode, this.now, this.maxRunBytes, () => this.policy.paused('room'));
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Frees the room that has been empty longest, before its grace period is over (its history goes with it). */
  private freeOldestEmpty(): void {
    const [name, timer] = this.graceTimers.entries().next().value ?? [];
    if (name === undefined) return;
    clearTimeout(timer);
    this.graceTimers.delete(name);
    const room = this.rooms.get(name);
    if (room === undefined || !room.isEmpty) return;
    this.rooms.delete(name);
    this.backplane?.release(room);
  }

  /** An empty room keeps its history for the grace period, so a lone member can resume. */
  private releaseIfEmpty(room: Room): void {
    if (!room.isEmpty || this.joining.has(room) || this.graceTimers.has(room.name)) return;
    const free = () => {
      this.graceTimers.delete(room.name);
      if (!room.isEmpty || this.joining.has(room) || this.rooms.get(room.name) !== room) return;
      this.rooms.delete(room.name);
      this.backplane?.release(room);
    };
    if (this.limits.roomGraceMs <= 0) return free();
    this.graceTimers.set(room.name, setTimeout(free, this.limits.roomGraceMs).unref());
  }
}
