import type { Session } from './Session.js';

/** Pending frames per shared run in a flush. */
const SEGMENT = 1024;

/** Packs encoded events into one buffer that a session writes as those events (a batch, or framed messages). */
export type EncodeBatch = (frames: Uint8Array[]) => Uint8Array;

/**
 * A room's delivery to its member sessions. Sessions without a run encoder
 * (`packRun`) get every frame at once. For the others, frames are coalesced: each
 * frame may be held for as long as its sender asks (`holdMs`: 0 is the end of this
 * turn of the event loop), and everything pending goes out at the earliest of
 * their deadlines, or once `runBytes` are pending, queued to each session as ONE
 * run, packed once per encoder and shared. Coalesced frames always go out before
 * anything delivered after them, and a session only gets the frames sequenced
 * after it joined, so every member still sees the room's sequence in order and
 * without gaps.
 */
export class Fanout {
  private readonly immediate = new Set<Session>();
  private readonly coalesced = new Set<Session>();
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Coalescing sessions that joined while frames were pending: the first pending index each gets. */
  private starts = new Map<Session, number>();
  /** When the scheduled flush runs (performance.now()), and its timer. */
  private due = Infinity;
  private timer: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout } | undefined;

  constructor(
    /** Flush once this many bytes are pending, whatever the deadlines. */
    private readonly runBytes = Infinity,
  ) {}

  get size(): number {
    return this.immediate.size + this.coalesced.size;
  }

  add(session: Session): void {
    if (session.packRun === undefined) return void this.immediate.add(session);
    if (this.pending.length > 0) this.starts.set(session, this.pending.length);
    this.coalesced.add(session);
  }

  /** Removes a session, after delivering what it is owed. */
  remove(session: Session): void {
    if (this.immediate.delete(session)) return;
    this.flush();
    this.coalesced.delete(session);
  }

  /**
   * Queues a room event to every member: at once to sessions that take no runs;
   * to the others after at most `holdMs` (0: the end of this turn; below 0: now).
   */
  send(frame: Uint8Array, holdMs: number): void {
    for (const session of this.immediate) session.deliver(frame);
    if (this.coalesced.size === 0) return;
    if (holdMs < 0) {
      this.flush();
      for (const session of this.coalesced) session.deliver(frame);
      return;
    }
    // Runs stay within runBytes (a frame bigger than that goes alone).
    if (this.pending.length > 0 && this.pendingBytes + frame.byteLength > this.runBytes) this.flush();
    this.pending.push(frame);
    this.pendingBytes += frame.byteLength;
    if (this.pendingBytes >= this.runBytes) return this.flush();
    const due = holdMs === 0 ? 0 : performance.now() + holdMs;
    if (due >= this.due) return;
    this.cancelTimer();
    this.due = due;
    const flush = () => {
      this.timer = undefined;
      this.flush();
    };
    this.timer = holdMs === 0 ? { immediate: setImmediate(flush) } : { timeout: setTimeout(flush, holdMs) };
  }

  /**
   * Delivers what is pending. The pending frames are cut into segments of
   * SEGMENT, each packed once per encoder and shared; a session that joined
   * mid-segment first gets the rest of that segment (also packed once per start).
   * So a storm of k joins costs O(k²/SEGMENT) queue pushes, not O(k²).
   */
  flush(): void {
    this.cancelTimer();
    if (this.pending.length === 0) return;
    const pending = this.pending;
    const starts = this.starts;
    this.pending = [];
    this.pendingBytes = 0;
    this.starts = new Map();
    const pieces = new Map<EncodeBatch, Map<string, Uint8Array>>();
    for (const session of this.coalesced) {
      const pack = session.packRun!;
      for (let from = starts.get(session) ?? 0; from < pending.length; ) {
        const to = Math.min(pending.length, (Math.floor(from / SEGMENT) + 1) * SEGMENT);
        session.deliver(to - from === 1 ? pending[from]! : piece(pieces, pack, pending, from, to));
        from = to;
      }
    }
  }

  private cancelTimer(): void {
    this.due = Infinity;
    if (this.timer === undefined) return;
    if ('immediate' in this.timer) clearImmediate(this.timer.immediate);
    else clearTimeout(this.timer.timeout);
    this.timer = undefined;
  }
}

/** The run of pending[from, to) packed by `pack`, once per flush: pieces are cached by encoder, then by range. */
function piece(pieces: Map<EncodeBatch, Map<string, Uint8Array>>, pack: EncodeBatch, pending: Uint8Array[], from: number, to: number): Uint8Array {
  let packed = pieces.get(pack);
  if (packed === undefined) pieces.set(pack, (packed = new Map()));
  const key = `${from}:${to}`;
  let frame = packed.get(key);
  if (frame === undefined) packed.set(key, (frame = pack(pending.slice(from, to))));
  return frame;
}
