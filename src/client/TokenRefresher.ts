import { currentToken, type TokenSource } from './TokenSource.js';
import { tokenClaims } from './tokenClaims.js';

/** Longest refresh lead: a token is refreshed at most this long before its exp. */
const MAX_LEAD_MS = 60_000;
/** While the source still gives the old token, ask again this often (at most). */
const RETRY_MS = 5_000;

/**
 * Keeps one stream's token fresh: some time before the token's exp (a third of
 * its remaining life, at most a minute) it asks the source for the current
 * token and, when that is a new one, sends it as a RefreshToken; at once when
 * the server's TOKEN_EXPIRING notice comes first. A source that has not rotated
 * yet is asked again until the old token runs out.
 */
export class TokenRefresher {
  private current: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly source: TokenSource,
    private readonly send: (token: string) => void,
  ) {}

  /** The stream was opened with `token`. */
  started(token: string): void {
    this.current = token;
    this.schedule();
  }

  /** The server says the token expires soon. */
  expiring(): void {
    if (this.current !== undefined) void this.refresh();
  }

  /** The stream ended. Safe twice. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const exp = tokenClaims(this.current!).expiresAt;
    if (exp === undefined || this.stopped) return;
    const remaining = exp - Date.now();
    this.after(remaining - Math.min(MAX_LEAD_MS, remaining / 3));
  }

  private async refresh(): Promise<void> {
    let fresh: string | undefined;
    try {
      fresh = await currentToken(this.source);
    } catch {
      fresh = undefined; // asked again below, while the old token lives
    }
    if (this.stopped) return;
    if (fresh !== undefined && fresh !== this.current) {
      this.current = fresh;
      this.send(fresh);
      this.schedule();
      return;
    }
    const exp = tokenClaims(this.current!).expiresAt;
    if (exp !== undefined && Date.now() < exp) this.after(Math.min(RETRY_MS, Math.max(200, (exp - Date.now()) / 4)));
  }

  private after(ms: number): void {
    clearTimeout(this.timer);
    // A long-lived token's refresh must not keep a finished process alive.
    this.timer = setTimeout(() => void this.refresh(), Math.max(0, Math.min(ms, 2 ** 31 - 1))).unref();
  }
}
