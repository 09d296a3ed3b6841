import type { CutOffCause } from './errors.js';
import type { Limits } from './limits.js';
import { QueueBudget } from './QueueBudget.js';
import type { Room } from './Room.js';
import type { Session } from './Session.js';

/** What a request waits for before it may run. */
export type Admission = 'publish' | 'join' | 'other';

/** What the backpressure policy did since the server started. */
export interface BackpressureStats {
  /** Times a room stopped accepting publishes and joins. */
  roomPauses: number;
  /** Times the whole server did (over its queue budget). */
  serverPauses: number;
  /** Streams cut off as slow consumers, by cause. */
  cutOffs: Record<CutOffCause, number>;
}

/** Who hears about what the policy does. */
export interface BackpressureHooks {
  /** A room stopped accepting, or the whole server did. */
  onPause?: (scope: 'room' | 'server') => void;
  /** A session was cut off (its stream may end much later). */
  onCutOff?: (session: Session, cause: CutOffCause) => void;
}

/**
 * The server's backpressure policy, apart from the per-session and per-room state
 * it reads (Session, Room): the budget of all queues, what a request must wait
 * for, and a clock. A sweep every `sweepMs` gives up waiting for a session that
 * has been behind for the stall grace (its rooms go on), and cuts off one whose
 * output has waited with no write started for the write deadline, or, when the
 * server is over its queue budget, for the grace.
 */
export class Backpressure {
  /** What it did so far (the server logs it at drain). */
  readonly stats: BackpressureStats = { roomPauses: 0, serverPauses: 0, cutOffs: { write_deadline: 0, queue_bound: 0, budget: 0 } };
  /** The bytes queued for all streams. */
  readonly budget: QueueBudget;
  /** How often the sweep runs; stalls and deadlines are counted in its rounds. */
  readonly sweepMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly limits: Limits,
    /** The sessions to sweep. */
    private readonly sessions: Iterable<Session>,
    private readonly hooks: BackpressureHooks = {},
  ) {
    this.budget = new QueueBudget(limits.queueBudgetBytes, () => this.paused('server'));
    this.sweepMs = Math.max(5, Math.floor(Math.min(limits.stallGraceMs, limits.writeDeadlineMs) / 4));
    this.timer = setInterval(() => this.sweep(), this.sweepMs).unref();
  }

  /** A room stopped accepting, or the server did: counted and told. */
  paused(scope: 'room' | 'server'): void {
    if (scope === 'room') this.stats.roomPauses += 1;
    else this.stats.serverPauses += 1;
    this.hooks.onPause?.(scope);
  }

  /** A session was cut off: counted and told. */
  cutOff(session: Session, cause: CutOffCause): void {
    this.stats.cutOffs[cause] += 1;
    this.hooks.onCutOff?.(session, cause);
  }

  /**
   * What a request must wait for before it runs, or undefined to run it now.
   * Publishes and joins wait while the server is over its queue budget or their
   * room is not accepting; every request waits while its own stream is behind
   * (a client is read no faster than it reads). The caller asks again after the
   * wait: another reason may have come up meanwhile.
   */
  admission(session: Session, kind: Admission, room: Room | undefined): Promise<void> | undefined {
    if (kind !== 'other') {
      if (this.budget.paused) return this.budget.whenResumed();
      if (room !== undefined && !room.accepting) return room.whenAccepting();
    }
    if (session.behind && !session.queue.closed) return session.whenCaughtUp();
    return undefined;
  }

  /**
   * One round of the clock (run every sweepMs). Times are counted in rounds from
   * the first that sees the condition, so each takes more than its limit: a
   * session behind through the stall grace is given up on (its rooms stop waiting
   * for it); one whose output waited through the write deadline with no write
   * started is cut off. Over the queue budget, sessions that wrote nothing
   * through the grace are cut off at once, largest queue first, until the budget
   * is back under its resume mark.
   */
  sweep(): void {
    const graceRounds = Math.ceil(this.limits.stallGraceMs / this.sweepMs) + 1;
    const deadlineRounds = Math.ceil(this.limits.writeDeadlineMs / this.sweepMs) + 1;
    const idle: Session[] = [];
    for (const session of this.sessions) {
      session.countRound();
      if (session.idleRounds >= deadlineRounds) {
        session.cutOff('write_deadline');
        continue;
      }
      if (session.idleRounds >= graceRounds) idle.push(session);
      if (session.idleRounds >= graceRounds || session.behindRounds >= graceRounds) session.markStalled();
    }
    if (!this.budget.paused) return;
    for (const session of idle.sort((a, b) => b.queue.bytes - a.queue.bytes)) {
      if (this.budget.used <= this.budget.resumeAt) break;
      session.cutOff('budget');
    }
  }

  /** Stops the clock (for a server that is going away). */
  dispose(): void {
    clearInterval(this.timer);
  }
}
