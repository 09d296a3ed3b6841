import { seqOf, type SequencedEvent } from './events.js';

/** One held event with the bytes it was broadcast as, reused when replayed. */
export interface HeldEvent {
  event: SequencedEvent;
  frame: Uint8Array;
}

/**
 * A room's most recent events, oldest first, bounded by count and by encoded bytes:
 * appending past either bound evicts the oldest.
 */
export class History {
  private held: HeldEvent[] = [];
  private head = 0;
  private heldBytes = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.held.length - this.head;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /** The seq of the oldest held event, or undefined when nothing is held. */
  get oldestSeq(): number | undefined {
    const first = this.held[this.head];
    return first && seqOf(first.event);
  }

  /** Forgets everything (a room sequenced elsewhere started a new epoch). */
  clear(): void {
    this.held = [];
    this.head = 0;
    this.heldBytes = 0;
  }

  append(entry: HeldEvent): void {
    this.held.push(entry);
    this.heldBytes += entry.frame.byteLength;
    while (this.length > 0 && (this.length > this.maxEvents || this.heldBytes > this.maxBytes)) {
      this.heldBytes -= (this.held[this.head] as HeldEvent).frame.byteLength;
      this.head += 1;
    }
    // Drop evicted slots in batches rather than shifting on every append.
    if (this.head >= 256 && this.head * 2 >= this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
  }

  /** Held events with seq > afterSeq, oldest first. */
  since(afterSeq: number): HeldEvent[] {
    const out: HeldEvent[] = [];
    for (let i = this.held.length - 1; i >= this.head; i--) {
      const entry = this.held[i] as HeldEvent;
      if (seqOf(entry.event) <= afterSeq) break;
      out.push(entry);
    }
    return out.reverse();
  }

  /** The last `count` chat messages held, oldest first. */
  lastMessages(count: number): Extract<SequencedEvent, { kind: 'message' }>['message'][] {
    const out = [];
    for (let i = this.held.length - 1; i >= this.head && out.length < count; i--) {
      const { event } = this.held[i] as HeldEvent;
      if (event.kind === 'message') out.push(event.message);
    }
    return out.reverse();
  }
}
