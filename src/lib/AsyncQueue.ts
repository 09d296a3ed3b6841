import { Gate } from './Gate.js';

/** Thrown into a queue's consumer when the queue is aborted without a reason. */
export class QueueAbortedError extends Error {
  override name = 'QueueAbortedError';
}

/** Bounds of a {@link AsyncQueue}; a push past either one is refused. */
export interface QueueBounds {
  /** Most items held at once. */
  maxItems: number;
  /** Most bytes held at once (as counted by the pusher). */
  maxBytes: number;
}

const unbounded: QueueBounds = { maxItems: Infinity, maxBytes: Infinity };

/**
 * A single-consumer queue read as an async iterator. `push` never waits: a push
 * past the bounds returns false and leaves the queue as it was, so the caller
 * decides what overflow means. `close` lets the consumer drain what is queued and
 * then ends it (with an error, if given); `abort` drops what is queued and ends it
 * at once. Both are safe to call twice (the first call wins).
 * Shaped after nats.js `core/src/queued_iterator.ts`.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private sizes: number[] = [];
  private head = 0;
  private heldBytes = 0;
  private done = false;
  private endError: unknown = undefined;
  private wake: (() => void) | undefined;
  private iterating = false;
  /** Open once the queue is closed or aborted, and once it is aborted. */
  private readonly ended = new Gate(false);
  private readonly dropped = new Gate(false);

  constructor(
    private readonly bounds: QueueBounds = unbounded,
    /** Told the bytes of items that leave the queue, taken by the consumer or dropped. */
    private readonly onRelease?: (bytes: number) => void,
  ) {}

  /** Items waiting to be consumed. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes waiting to be consumed. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** True once closed or aborted: later pushes are ignored. */
  get closed(): boolean {
    return this.done;
  }

  /** Queues an item; false if the queue is closed or the item would pass a bound. */
  push(item: T, bytes = 0): boolean {
    if (this.done) return false;
    if (this.length + 1 > this.bounds.maxItems || this.heldBytes + bytes > this.bounds.maxBytes) {
      return false;
    }
    this.items.push(item);
    this.sizes.push(bytes);
    this.heldBytes += bytes;
    this.notify();
    return true;
  }

  /** Ends the queue once the consumer has taken what is queued; `error`, if any, is thrown then. */
  close(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.endError = error;
    this.notify();
  }

  /** Drops what is queued and ends the consumer now with `error` (a closed queue already drained keeps how it ended). */
  abort(error: unknown = new QueueAbortedError('queue aborted')): void {
    if (this.aborted) return;
    if (!this.done || this.length > 0) this.endError = error;
    this.done = true;
    this.dropped.open();
    const droppedBytes = this.heldBytes;
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.heldBytes = 0;
    this.notify();
    if (droppedBytes > 0) this.onRelease?.(droppedBytes);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const batch of this.batches(Infinity, 1)) yield batch[0] as T;
  }

  /**
   * Consumes the queue in batches: each is everything queued at that moment, up
   * to `maxBytes` and `maxItems` (but always at least one item), oldest first.
   * Under load items pile up while the consumer is busy, so batches grow exactly
   * when it helps.
   */
  async *batches(maxBytes: number, maxItems = Infinity): AsyncGenerator<T[], void, undefined> {
    if (this.iterating) throw new Error('AsyncQueue has a single consumer');
    this.iterating = true;
    try {
      for (;;) {
        if (this.head < this.items.length) {
          const start = this.head;
          let bytes = this.sizes[start] as number;
          let end = start + 1;
          while (end < this.items.length && end - start < maxItems && bytes + (this.sizes[end] as number) <= maxBytes) {
            bytes += this.sizes[end] as number;
            end += 1;
          }
          const batch = this.items.slice(start, end);
          this.heldBytes -= bytes;
          this.head = end;
          this.compact();
          this.onRelease?.(bytes);
          yield batch;
          continue;
        }
        if (this.done) {
          if (this.endError !== undefined) throw this.endError;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // The consumer may stop early (break, or an error thrown into it): nothing
      // will read what is left, so free it.
      this.abort(this.endError ?? new QueueAbortedError('consumer stopped'));
    }
  }

  private compact(): void {
    // Consumed slots must not keep their items alive: an idle stream would hold
    // every frame it was ever sent. Empty: start over; else drop them in batches.
    if (this.head === this.items.length) {
      this.items = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  /** Resolves once the queue is closed or aborted (its consumer may still be draining it). */
  whenEnded(): Promise<void> {
    return this.ended.whenOpen();
  }

  /** True once aborted: what was queued is dropped and nothing more will be taken. */
  get aborted(): boolean {
    return this.dropped.isOpen;
  }

  /** Resolves once the queue is aborted. */
  whenAborted(): Promise<void> {
    return this.dropped.whenOpen();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    if (this.done) this.ended.open();
  }
}
