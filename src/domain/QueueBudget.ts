import { Gate } from '../lib/Gate.js';

/** Below this share of the budget, paused publishing resumes (hysteresis, so it does not flap). */
const RESUME_SHARE = 0.75;

/**
 * The bytes queued for all streams together, against one budget. Each stream
 * counts what it still has to write, so a broadcast held by many queues counts
 * once per queue: an upper bound of the memory it takes. Past the budget, the
 * server stops taking publishes and joins (every room's gate is this one too)
 * until the queues are back under three quarters of it.
 */
export class QueueBudget {
  /** Bytes queued now, over all streams. */
  used = 0;
  private readonly gate = new Gate();

  constructor(
    /** The most bytes all queues may hold before publishing pauses. */
    readonly limit: number,
    /** Told each time publishing pauses. */
    private readonly onPause: () => void = () => {},
  ) {}

  get paused(): boolean {
    return !this.gate.isOpen;
  }

  /** The resume mark: paused publishing goes on below it. */
  get resumeAt(): number {
    return Math.floor(this.limit * RESUME_SHARE);
  }

  add(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit && this.gate.isOpen) {
      this.gate.shut();
      this.onPause();
    }
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.used <= this.resumeAt) this.gate.open();
  }

  /** Resolves once publishing may go on. */
  whenResumed(): Promise<void> {
    return this.gate.whenOpen();
  }
}
