/** The longest delay setTimeout keeps (a longer one fires at once): later deadlines are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What happens as a stream's token runs out. */
export interface LifetimeHooks {
  /** `noticeMs` before the end: tell the client (TOKEN_EXPIRING). */
  warn(endsAt: number): void;
  /** The token is no longer valid: end the stream. */
  expire(): void;
}

/**
 * The clock of one stream's token: a warning `noticeMs` before the end, then
 * the end, at `exp` plus the clock tolerance (when the token would stop
 * verifying). A refresh sets a new `exp`, which moves both.
 */
export class TokenLifetime {
  private warnTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly noticeMs: number,
    private readonly toleranceMs: number,
    private readonly hooks: LifetimeHooks,
  ) {}

  /** Starts (or restarts) the clock for a token expiring at `expiresAt` (ms); undefined: never. */
  set(expiresAt: number | undefined): void {
    this.stop();
    if (expiresAt === undefined) return;
    const endsAt = expiresAt + this.toleranceMs;
    this.warnTimer = at(endsAt - this.noticeMs, () => this.hooks.warn(endsAt), (t) => (this.warnTimer = t));
    this.endTimer = at(endsAt, () => this.hooks.expire(), (t) => (this.endTimer = t));
  }

  /** Clears both timers (the stream ended). Safe twice. */
  stop(): void {
    clearTimeout(this.warnTimer);
    clearTimeout(this.endTimer);
    this.warnTimer = this.endTimer = undefined;
  }
}

/** Runs `fn` at wall-clock `when`, re-arming through `rearm` past setTimeout's limit. */
function at(when: number, fn: () => void, rearm: (timer: NodeJS.Timeout) => void): NodeJS.Timeout {
  const delay = when - Date.now();
  if (delay > MAX_TIMER_MS) return setTimeout(() => rearm(at(when, fn, rearm)), MAX_TIMER_MS);
  return setTimeout(fn, Math.max(0, delay));
}
