import type { Session } from './Session.js';

/** Pending frames per shared batch in a flush. */
const SEGMENT = 256;

/** Packs encoded events into one (the adapter's encodeBatch). */
export type EncodeBatch = (frames: Uint8Array[]) => Uint8Array;

/**
 * A room's delivery to its member sessions. Sessions that do not take batches
 * get every frame at once. For sessions that do, frames can be coalesced: held
 * until the end of this turn of the event loop (presence storms in big rooms), or
 * for `lingerMs` (every room event, when set), then queued to each of them as ONE
 * batch frame, encoded once and shared. Coalesced frames always go out before
 * anything delivered after them, and a session only gets the frames sequenced
 * after it joined, so every member still sees the room's sequence in order and
 * without gaps.
 */
export class Fanout {
  private readonly plain = new Set<Session>();
  private readonly batching = new Set<Session>();
  private pending: Uint8Array[] = [];
  /** Batching sessions that joined while frames were pending: the first pending index each gets. */
  private starts = new Map<Session, number>();
  private scheduled = false;

  constructor(
    private readonly encodeBatch: EncodeBatch | undefined,
    /** How long to hold room events for batching sessions (0: only presence storms). */
    private readonly lingerMs = 0,
  ) {}

  get size(): number {
    return this.plain.size + this.batching.size;
  }

  add(session: Session): void {
    if (!session.batching || this.encodeBatch === undefined) return void this.plain.add(session);
    if (this.pending.length > 0) this.starts.set(session, this.pending.length);
    this.batching.add(session);
  }

  /** Removes a session, after delivering what it is owed. */
  remove(session: Session): void {
    if (this.plain.delete(session)) return;
    this.flush();
    this.batching.delete(session);
  }

  /** Queues a room event to every member: at once, or coalesced for batching sessions. */
  send(frame: Uint8Array, coalesce: boolean): void {
    for (const session of this.plain) session.deliver(frame);
    if (this.batching.size === 0) return;
    if (!coalesce && this.lingerMs <= 0) {
      this.flush();
      for (const session of this.batching) session.deliver(frame);
      return;
    }
    this.pending.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      this.flush();
    };
    if (this.lingerMs > 0) setTimeout(flush, this.lingerMs);
    else setImmediate(flush);
  }

  /**
   * Delivers what is pending. The pending frames are cut into segments of
   * SEGMENT, each encoded once and shared; a session that joined mid-segment
   * first gets the rest of that segment (also encoded once per start). So a storm
   * of k joins costs O(k²/SEGMENT) queue pushes, not O(k²).
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    const starts = this.starts;
    this.pending = [];
    this.starts = new Map();
    const pieces = new Map<string, Uint8Array>();
    const piece = (from: number, to: number): Uint8Array => {
      if (to - from === 1) return pending[from]!;
      const key = `${from}:${to}`;
      let frame = pieces.get(key);
      if (frame === undefined) pieces.set(key, (frame = this.encodeBatch!(pending.slice(from, to))));
      return frame;
    };
    for (const session of this.batching) {
      for (let from = starts.get(session) ?? 0; from < pending.length; ) {
        const to = Math.min(pending.length, (Math.floor(from / SEGMENT) + 1) * SEGMENT);
        session.deliver(piece(from, to));
        from = to;
      }
    }
  }
}
