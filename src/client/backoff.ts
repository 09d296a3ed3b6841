/** How reconnect attempts are spaced. */
export interface BackoffOptions {
  /** The wait before the first retry. */
  initialMs: number;
  /** Each further wait is this many times the last one... */
  multiplier: number;
  /** ...up to this cap. */
  maxMs: number;
  /** Each wait is spread by up to this fraction either way, so clients dropped together do not return together. */
  jitter: number;
}

/** gRPC's connection-backoff shape (1 s, ×1.6, ±20%), capped at 30 s. */
export const defaultBackoff: BackoffOptions = { initialMs: 1000, multiplier: 1.6, maxMs: 30_000, jitter: 0.2 };

/**
 * The wait before reconnect attempt `attempt` (1 for the first retry).
 * See https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = defaultBackoff, random: () => number = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * options.multiplier ** Math.max(0, attempt - 1));
  const spread = base * options.jitter * (2 * random() - 1);
  return Math.round(Math.min(options.maxMs, Math.max(0, base + spread)));
}
