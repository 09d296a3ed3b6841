/**
 * The servers a ChatConnection may use, tried in turn: which one is next, and
 * whether a wait is due first. The first address is tried first; every end or
 * failed attempt moves on to the next (round robin). Only a full round of
 * failures since the last working stream waits out a backoff, so a dead server
 * among live ones costs one quick failover.
 */
export class Addresses {
  /** Every address, in the order they are tried. */
  readonly all: readonly string[];
  private index = 0;
  /** Attempts that failed since the last stream that worked. */
  private failures = 0;

  /** `list`: one host:port, several, or one string of them separated by commas. */
  constructor(list: string | readonly string[]) {
    this.all = Addresses.parse(list);
  }

  /**
   * The addresses in `list`, trimmed; an empty entry (`a:1,,b:2`, a trailing
   * comma) or an empty list is refused, with an Error saying which.
   */
  static parse(list: string | readonly string[]): string[] {
    const entries = (typeof list === 'string' ? [list] : list).flatMap((item) => item.split(','));
    const addresses = entries.map((entry) => entry.trim());
    const empty = addresses.indexOf('');
    if (addresses.every((address) => address === '')) throw new Error('the server address list is empty');
    if (empty >= 0) throw new Error(`the server address list "${entries.join(',')}" has an empty entry (number ${empty + 1} of ${addresses.length})`);
    return addresses;
  }

  /** The address to use now. */
  get current(): string {
    return this.all[this.index]!;
  }

  /** A stream on the current address worked: the next failure starts a new round. */
  worked(): void {
    this.failures = 0;
  }

  /**
   * The current address failed, or its stream ended: moves on to the next one.
   * Returns how many full rounds have failed in a row, the backoff attempt to
   * wait for before trying it; 0 while this round has addresses left (try at once).
   */
  failed(): number {
    this.index = (this.index + 1) % this.all.length;
    this.failures += 1;
    return this.failures % this.all.length === 0 ? this.failures / this.all.length : 0;
  }
}
