import { type Link, ROOT_CONTEXT, type SpanContext, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import type { Session } from '../domain/Session.js';

/** A sequenced event's bytes (or a run of them) as the telemetry follows them to the wire. */
interface Tracked {
  /** When the (oldest) event was sequenced (performance.now()). */
  at: number;
  /** Chat messages in these bytes (a run holds several events). */
  messages: number;
  /** The traced messages in them; none for most bytes. */
  traced: TracedRun | undefined;
}

/**
 * The traced messages of one frame (a run packs many), as the chat.deliver
 * spans of its writes refer to them. One object per frame, not per message:
 * under load a run carries hundreds of messages to every member of the room.
 */
interface TracedRun {
  /** The oldest traced message's chat.publish: what the first write's span refers to. */
  first: SpanContext;
  /** Whether that message's sender sent a trace context. */
  firstFollowed: boolean;
  room: string;
  /** seq of the oldest and the newest traced message. */
  firstSeq: number;
  lastSeq: number;
  /** When the oldest traced message was sequenced (performance.now()). */
  at: number;
  /** Traced messages in the frame. */
  count: number;
  /**
   * The other publishes of messages whose sender sent a trace context: a client
   * follows those traces end to end, so each is linked. The rest are named by
   * the seq range alone: a link per message was, in the bench, a second span's
   * worth of export per message.
   */
  followed: SpanContext[] | undefined;
  /** Receivers whose write of this frame may still get a chat.deliver span. */
  left: number;
  /** The first receiver's chat.deliver: the next receivers' spans refer to it instead. */
  delivery: SpanContext | undefined;
}

/**
 * Most spans one chat.deliver refers to (its parent and links): the SDK keeps
 * 128 links by default (OTEL_SPAN_LINK_COUNT_LIMIT). A frame past this waits
 * for the next receiver's write.
 */
const MAX_REFERENCES = 64;

/**
 * The server's chat.deliver spans: one per write to a receiver's stream that
 * carries traced messages, for the first `perFrame` receivers each frame is
 * written to, from its oldest traced message's sequencing to the write. The
 * first receiver's span refers to the frame's oldest traced publish (its
 * parent, or a link when an older frame of the same write is the parent) and
 * to the publishes a client traces (links), and names the rest by
 * `chat.seq`..`chat.seq.last`; each next receiver's span refers to that first
 * span, once for all the frames it covered. Also the timing of every frame,
 * for the delivery latency.
 */
export class DeliveryTraces {
  private readonly tracked = new WeakMap<Uint8Array, Tracked>();

  constructor(
    private readonly tracer: Tracer,
    /** Receivers per frame whose write gets a chat.deliver span; bounds the cost of big rooms. */
    private readonly perFrame: number,
  ) {}

  /** An event's bytes were made: they are timed from now. */
  encoded(frame: Uint8Array, isMessage: boolean): void {
    this.tracked.set(frame, { at: performance.now(), messages: isMessage ? 1 : 0, traced: undefined });
  }

  /** A run was packed from these frames: it carries their timing and traced messages. */
  packed(run: Uint8Array, frames: Uint8Array[]): void {
    let merged: Tracked | undefined;
    let traced: TracedRun | undefined;
    for (const frame of frames) {
      const t = this.tracked.get(frame);
      if (t === undefined) continue;
      merged ??= { at: t.at, messages: 0, traced: undefined };
      if (t.at < merged.at) merged.at = t.at;
      merged.messages += t.messages;
      const r = t.traced;
      if (r === undefined) continue;
      if (traced === undefined) {
        traced = { ...r, followed: r.followed?.slice(), left: this.perFrame, delivery: undefined };
      } else {
        traced.lastSeq = r.lastSeq;
        traced.count += r.count;
        if (r.firstFollowed) (traced.followed ??= []).push(r.first);
        if (r.followed !== undefined) (traced.followed ??= []).push(...r.followed);
      }
    }
    if (merged === undefined) return;
    merged.traced = traced;
    this.tracked.set(run, merged);
  }

  /**
   * A message's chat.publish span, for the deliveries of its frame.
   * `followed`: its sender sent a trace context.
   */
  published(frame: Uint8Array, publish: SpanContext, room: string, seq: number, followed: boolean): void {
    const t = this.tracked.get(frame);
    if (t === undefined || this.perFrame === 0) return;
    t.traced = { first: publish, firstFollowed: followed, room, firstSeq: seq, lastSeq: seq, at: t.at, count: 1, followed: undefined, left: this.perFrame, delivery: undefined };
  }

  /**
   * Frames are about to be written to a session's stream, in one write: its
   * chat.deliver span when they carry traced messages that want one. Returns
   * the write's oldest sequencing time (NaN when none of it is timed) and
   * how many chat messages it carries.
   */
  written(session: Session, frames: Uint8Array[], now: number): { oldest: number; messages: number } {
    let oldest = Infinity;
    let messages = 0;
    /** What the span refers to: its parent, then its links. */
    let refs: SpanContext[] | undefined;
    /** The write's first and last traced frames this span covers. */
    let head: TracedRun | undefined;
    let tail: TracedRun | undefined;
    let traced = 0;
    /** Frames this span is the first delivery of. */
    let firsts: TracedRun[] | undefined;
    let full = false;
    for (const frame of frames) {
      const t = this.tracked.get(frame);
      if (t === undefined) continue;
      if (t.at < oldest) oldest = t.at;
      messages += t.messages;
      const run = t.traced;
      if (run === undefined || full) continue;
      if (run.left <= 0) {
        // Every receiver this frame may have is traced: the other members' writes need not look again.
        t.traced = undefined;
        continue;
      }
      const count = refs?.length ?? 0;
      if (run.delivery !== undefined) {
        // An earlier receiver's span covered it: refer to that span, once for the frames it covered.
        if (refs?.at(-1) !== run.delivery) {
          if (count >= MAX_REFERENCES) {
            full = true;
            continue;
          }
          (refs ??= []).push(run.delivery);
        }
      } else {
        const wanted = 1 + (run.followed?.length ?? 0);
        // The rest of the write waits for the next receiver's.
        if (count > 0 && count + wanted > MAX_REFERENCES) {
          full = true;
          continue;
        }
        (refs ??= []).push(run.first);
        if (run.followed !== undefined) refs.push(...run.followed.slice(0, MAX_REFERENCES - refs.length));
        (firsts ??= []).push(run);
      }
      run.left -= 1;
      traced += run.count;
      head ??= run;
      tail = run;
    }
    if (refs !== undefined && head !== undefined && tail !== undefined) {
      const links = refs.length > 1 ? refs.slice(1).map((context): Link => ({ context })) : undefined;
      const span = this.tracer.startSpan('chat.deliver', { kind: SpanKind.INTERNAL, startTime: performance.timeOrigin + head.at, links }, trace.setSpanContext(ROOT_CONTEXT, refs[0]!));
      span.setAttribute('chat.room', head.room);
      span.setAttribute('chat.seq', head.firstSeq);
      span.setAttribute('chat.seq.last', tail.lastSeq);
      span.setAttribute('chat.receiver.user_id', session.userId);
      span.setAttribute('chat.receiver.stream', session.id);
      span.setAttribute('chat.write.messages', messages);
      span.setAttribute('chat.write.traced', traced);
      span.end(performance.timeOrigin + now);
      if (firsts !== undefined) for (const run of firsts) run.delivery = span.spanContext();
    }
    return { oldest: oldest === Infinity ? NaN : oldest, messages };
  }
}
