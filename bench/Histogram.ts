/**
 * A latency histogram with ~2% resolution from 1 µs to over an hour, cheap to
 * record into and to merge across worker processes.
 */
const GROWTH = Math.log(1.02);
const BUCKETS = 1200;

export class Histogram {
  readonly counts: number[];
  count = 0;
  max = 0;

  constructor(counts?: number[]) {
    this.counts = counts ?? new Array<number>(BUCKETS).fill(0);
    for (const c of this.counts) this.count += c;
  }

  /** Records one value in microseconds. */
  record(us: number): void {
    const bucket = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / GROWTH));
    this.counts[bucket]! += 1;
    this.count += 1;
    if (us > this.max) this.max = us;
  }

  merge(other: { counts: number[]; max: number }): void {
    for (let i = 0; i < BUCKETS; i++) {
      const c = other.counts[i] ?? 0;
      this.counts[i]! += c;
      this.count += c;
    }
    if (other.max > this.max) this.max = other.max;
  }

  /** The value (µs) at quantile q in [0, 1]; the bucket's upper bound. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return Math.min(Math.exp(i * GROWTH), this.max);
    }
    return this.max;
  }
}
