import type { Session } from './Session.js';

/** Pending frames per shared batch in a flush. */
const SEGMENT = 256;

/** Packs encoded events into one (the adapter's encodeBatch). */
export type EncodeBatch = (frames: Uint8Array[]) => Uint8Array;

/**
 * A room's delivery to its member sessions. `now` queues a frame to every
 * member at once. `later` defers it to the end of this turn of the event loop,
 * so that a burst (a join storm in a big room) reaches each member that
 * understands batches as ONE queued frame instead of one per event. Deferred
 * frames always go out before anything delivered after them, and a session only
 * gets the deferred frames sequenced after it joined, so every member still sees
 * the room's sequence in order and without gaps.
 */
export class Fanout {
  readonly sessions = new Set<Session>();
  private pending: Uint8Array[] = [];
  /** Sessions that joined while frames were pending: the first pending index each gets. */
  private starts = new Map<Session, number>();
  private scheduled = false;

  constructor(private readonly encodeBatch: EncodeBatch | undefined) {}

  get size(): number {
    return this.sessions.size;
  }

  add(session: Session): void {
    if (this.pending.length > 0) this.starts.set(session, this.pending.length);
    this.sessions.add(session);
  }

  remove(session: Session): void {
    this.flush();
    this.sessions.delete(session);
  }

  now(frame: Uint8Array): void {
    this.flush();
    for (const session of this.sessions) session.deliver(frame);
  }

  later(frame: Uint8Array): void {
    if (this.encodeBatch === undefined) return this.now(frame);
    this.pending.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /**
   * Delivers what is pending. For batching sessions the pending frames are cut
   * into segments of SEGMENT, each encoded once and shared; a session that joined
   * mid-segment first gets the rest of that segment (also encoded once per start).
   * So a storm of k joins costs O(k²/SEGMENT) queue pushes, not O(k²).
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
    for (const session of this.sessions) {
      const start = starts.get(session) ?? 0;
      if (!session.batching) {
        for (let i = start; i < pending.length; i++) session.deliver(pending[i]!);
        continue;
      }
      for (let from = start; from < pending.length; ) {
        const to = Math.min(pending.length, (Math.floor(from / SEGMENT) + 1) * SEGMENT);
        session.deliver(piece(from, to));
        from = to;
      }
    }
  }
}
