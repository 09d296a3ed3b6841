import { AsyncQueue } from '../lib/AsyncQueue.js';
import { Gate } from '../lib/Gate.js';
import { TokenBucket } from '../lib/TokenBucket.js';
import { type CutOffCause, SlowConsumerError } from './errors.js';
import type { DomainEvent, EncodeEvent } from './events.js';
import type { EncodeBatch } from './Fanout.js';
import type { Limits } from './limits.js';
import type { QueueBudget } from './QueueBudget.js';
import type { Room } from './Room.js';

/** What a session tells the hub. */
export interface SessionHooks {
  /** The session was cut off (its queue is aborted); the hub frees it. */
  cutOff(session: Session, cause: CutOffCause): void;
}

/**
 * One stream's session: the user it is bound to, the rooms it is in, and its
 * outbound queue of encoded frames. Rooms push into the queue and never wait.
 *
 * Backpressure: a session whose queue passes the high-water mark is *behind*;
 * while it is, each of its rooms holds back new publishes and joins (see Room),
 * until it is back under the low-water mark. A session that stays behind for the
 * stall grace (its transport writes nothing, or it reads slower than the room
 * while the others drain) is *stalled*: its rooms stop waiting for it, until it
 * has caught up. It is cut off after the write deadline with no write progress,
 * or as soon as its queue passes its bound. So a busy server slows its publishers
 * down; one client cannot: only a client that stops taking bytes, or falls too
 * far behind, is cut off.
 */
/** A user the adapter has authenticated (the domain does not know how). */
export interface VerifiedUser {
  userId: string;
  /** Overrides the join's display_name when set. */
  displayName?: string;
}

export class Session {
  /** The bound user; empty until the first join. */
  userId = '';
  /** The bound display name; empty until the first join. */
  displayName = '';
  /**
   * Who a verified token says the stream is (auth on): its first join binds
   * this user, whatever user_id it names, and must name none or this one.
   */
  verified: VerifiedUser | undefined;
  /** The client understands batched events (said on its first join). */
  batching = false;
  /** Packs a run of frames for this session's coalesced fan-out; none: every frame goes on its own. */
  packRun: EncodeBatch | undefined;
  /** Rooms this session is in, by name. */
  readonly rooms = new Map<string, Room>();
  /** Encoded ServerEvents waiting for the stream to write them. */
  readonly queue: AsyncQueue<Uint8Array>;
  /** Paces this session's requests. */
  readonly rate: TokenBucket;
  /** Joins, on top of `rate`: a stream cannot hop rooms fast. */
  readonly joinRate: TokenBucket;
  /** Over the high-water mark and not yet back under the low-water mark. */
  behind = false;
  /** Behind for the stall grace: its rooms no longer wait for it. */
  stalled = false;
  /** A write was handed to the transport and has not started yet (the adapter says). */
  writePending = false;
  /** Writes started so far; the hub's sweep compares it between rounds to see progress. */
  private writes = 0;
  private writesSeen = 0;
  /** Sweep rounds in a row that found output pending and no write started. */
  idleRounds = 0;
  /** Sweep rounds in a row that found it behind. */
  behindRounds = 0;
  /** Shut while behind. */
  private readonly caughtUp = new Gate();

  constructor(
    /** Unique per process; for logs. */
    readonly id: number,
    private readonly limits: Limits,
    private readonly encode: EncodeEvent,
    private readonly budget: QueueBudget,
    private readonly hooks: SessionHooks,
  ) {
    this.queue = new AsyncQueue({ maxItems: limits.queueEvents, maxBytes: limits.queueBytes }, (bytes) => this.released(bytes));
    this.rate = new TokenBucket(limits.ratePerSecond, limits.rateBurst);
    this.joinRate = new TokenBucket(limits.joinRatePerSecond, limits.joinBurst);
  }

  /** True once the first join has bound the stream to a user. */
  get bound(): boolean {
    return this.userId !== '';
  }

  /** Counts toward its rooms' backlog: behind, and not given up on as stalled. */
  get holdsBack(): boolean {
    return this.behind && !this.stalled;
  }

  /** Output waits for the transport: queued, or a write handed over and not started. */
  get pending(): boolean {
    return this.queue.length > 0 || this.writePending;
  }

  /** Queues a frame encoded once for all receivers. */
  deliver(frame: Uint8Array): void {
    const bytes = frame.byteLength;
    if (!this.queue.push(frame, bytes)) {
      if (!this.queue.closed) this.cutOff('queue_bound');
      return;
    }
    this.budget.add(bytes);
    if (!this.behind && this.queue.bytes > this.limits.queueHighWaterBytes) this.setBehind(true);
  }

  /** Encodes and queues an event meant for this session alone. */
  send(event: DomainEvent): void {
    this.deliver(this.encode(event));
  }

  /** The transport started a write: the ones before it are done. */
  progressed(): void {
    this.writes += 1;
  }

  /** Counts one round of the backpressure sweep: idleRounds and behindRounds. */
  countRound(): void {
    if (!this.pending || this.writes !== this.writesSeen) {
      this.writesSeen = this.writes;
      this.idleRounds = 0;
    } else this.idleRounds += 1;
    this.behindRounds = this.behind ? this.behindRounds + 1 : 0;
  }

  /** Resolves once the session is no longer behind, or its queue has ended. */
  whenCaughtUp(): Promise<void> {
    return this.queue.closed ? Promise.resolve() : this.caughtUp.whenOpen();
  }

  /** Gives up waiting for a session that stopped taking bytes: its rooms go on without it. */
  markStalled(): void {
    if (this.stalled || !this.behind) return;
    const held = this.holdsBack;
    this.stalled = true;
    this.changedHold(held);
  }

  /** Ends the stream with RESOURCE_EXHAUSTED (SLOW_CONSUMER); the hub frees it. */
  cutOff(cause: CutOffCause): void {
    if (this.queue.closed) return;
    const why: Record<CutOffCause, string> = {
      write_deadline: `no write progress for ${this.limits.writeDeadlineMs} ms`,
      queue_bound: `more than ${this.limits.queueEvents} events or ${this.limits.queueBytes} bytes queued for this stream`,
      budget: `the server's queues are over their budget and this stream took nothing for ${this.limits.stallGraceMs} ms`,
    };
    this.queue.abort(new SlowConsumerError(`SLOW_CONSUMER: ${why[cause]}; resume with after_seq`, cause));
    // Leaving rooms announces the user to others: do it after the fan-out under
    // way, so that every member still sees the room's events in seq order.
    queueMicrotask(() => this.hooks.cutOff(this, cause));
  }

  private released(bytes: number): void {
    this.budget.release(bytes);
    if (this.behind && (this.queue.bytes <= this.limits.queueLowWaterBytes || this.queue.closed)) this.setBehind(false);
  }

  private setBehind(behind: boolean): void {
    const held = this.holdsBack;
    this.behind = behind;
    if (behind) this.caughtUp.shut();
    else {
      // Caught up: counted again the next time it falls behind.
      this.stalled = false;
      this.caughtUp.open();
    }
    this.changedHold(held);
  }

  private changedHold(held: boolean): void {
    if (held === this.holdsBack) return;
    for (const room of this.rooms.values()) room.holdBack(this, this.holdsBack);
  }
}
