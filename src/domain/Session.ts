import { AsyncQueue } from '../lib/AsyncQueue.js';
import { TokenBucket } from '../lib/TokenBucket.js';
import { SlowConsumerError } from './errors.js';
import type { DomainEvent, EncodeEvent } from './events.js';
import type { Limits } from './limits.js';
import type { Room } from './Room.js';

/**
 * One stream's session: the user it is bound to, the rooms it is in, and its
 * bounded outbound queue of encoded frames. Rooms push into the queue and never
 * wait; a push past the bound cuts this session off, never anyone else.
 */
export class Session {
  /** The bound user; empty until the first join. */
  userId = '';
  /** The bound display name; empty until the first join. */
  displayName = '';
  /** The client understands batched events (said on its first join). */
  batching = false;
  /** Rooms this session is in, by name. */
  readonly rooms = new Map<string, Room>();
  /** Encoded ServerEvents waiting for the stream to write them. */
  readonly queue: AsyncQueue<Uint8Array>;
  /** Paces this session's requests. */
  readonly rate: TokenBucket;

  constructor(
    /** Unique per process; for logs. */
    readonly id: number,
    private readonly limits: Limits,
    private readonly encode: EncodeEvent,
    private readonly onOverflow: (session: Session) => void,
  ) {
    this.queue = new AsyncQueue({ maxItems: limits.queueEvents, maxBytes: limits.queueBytes });
    this.rate = new TokenBucket(limits.ratePerSecond, limits.rateBurst);
  }

  /** True once the first join has bound the stream to a user. */
  get bound(): boolean {
    return this.userId !== '';
  }

  /** Queues a frame encoded once for all receivers. */
  deliver(frame: Uint8Array): void {
    if (this.queue.push(frame, frame.byteLength) || this.queue.closed) return;
    this.queue.abort(
      new SlowConsumerError(
        `SLOW_CONSUMER: more than ${this.limits.queueEvents} events or ${this.limits.queueBytes} bytes queued for this stream; resume with after_seq`,
      ),
    );
    // Leaving rooms announces the user to others: do it after the fan-out under
    // way, so that every member still sees the room's events in seq order.
    queueMicrotask(() => this.onOverflow(this));
  }

  /** Encodes and queues an event meant for this session alone. */
  send(event: DomainEvent): void {
    this.deliver(this.encode(event));
  }
}
