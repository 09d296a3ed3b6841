import {
  type Attributes,
  type Context,
  context,
  type Link,
  metrics,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { Status } from 'nice-grpc';
import type { CutOffCause } from '../domain/errors.js';
import type { Hub } from '../domain/Hub.js';
import type { JoinResult, PublishResult } from '../domain/Room.js';
import type { Session } from '../domain/Session.js';
import { type ChatInstruments, chatInstruments, observeCounts } from './chatInstruments.js';

const SCOPE = 'chat-grpc';

/** A sequenced event's bytes as the telemetry follows them to the wire. */
interface Tracked {
  /** When the event was sequenced (performance.now()). */
  at: number;
  /** Chat messages in these bytes (a batch holds several events). */
  messages: number;
  /** Publishes whose deliveries still get a span, with how many more each may have; none for most bytes. */
  traces: Traced[] | undefined;
}

/** A traced publish, as its deliveries refer to it. */
interface Traced {
  /** The chat.publish span's ids (the span object itself has ended). */
  span: SpanContext;
  room: string;
  seq: number;
  /** When it was sequenced (performance.now()). */
  at: number;
  /** Receivers whose delivery of it may still get a chat.deliver span. */
  left: number;
  /**
   * The first chat.deliver that linked it: the next receivers' spans link to
   * that one (once for all the messages of their write it covered) rather than
   * to every message again.
   */
  delivery?: SpanContext;
}

/**
 * Most spans one chat.deliver refers to (its parent and links): the
 * SDK keeps 128 links by default (OTEL_SPAN_LINK_COUNT_LIMIT); the ones past
 * this wait for the next receiver's write.
 */
const MAX_DELIVERY_LINKS = 64;

/** The link from a publish to its sender's stream, the same for every publish. */
const STREAM_LINK: Attributes = Object.freeze({ 'chat.link': 'stream' });

/** Map carrier for W3C trace context in ChatPayload.trace_context. */
const carrier = {
  get: (c: Record<string, string>, key: string) => c[key],
  keys: (c: Record<string, string>) => Object.keys(c),
  set: (c: Record<string, string>, key: string, value: string) => {
    c[key] = value;
  },
};

/**
 * Everything the server tells OpenTelemetry, through @opentelemetry/api only (the
 * SDK, when configured, is started by the entry point). Spans: chat.join,
 * chat.leave, chat.publish (parented on the sender's trace_context, else on its
 * stream's span) and chat.deliver: one per write to a receiver's stream that
 * carries traced messages, from the oldest one's sequencing to the write. The
 * first receiver a message is written to refers to its chat.publish (the
 * span's parent for the write's oldest message, a link for the others); each
 * next one, up to `deliverySpans` receivers per message, refers to that first
 * chat.deliver instead, once for all the messages of its write that it
 * covered. Metrics: chatInstruments.ts and docs/telemetry.md. When `enabled`
 * is false every method is a
 * pass-through, so telemetry off costs a branch.
 */
export class ChatTelemetry {
  private readonly tracer = trace.getTracer(SCOPE);
  private readonly tracked = new WeakMap<Uint8Array, Tracked>();
  private readonly instruments: ChatInstruments;
  private stopObserving = () => {};
  /** Chat messages sequenced so far (chat.messages.received). */
  private received = 0;
  /** Chat messages written so far (chat.messages.delivered). */
  private delivered = 0;

  constructor(
    /** Whether to record anything. */
    readonly enabled: boolean,
    hub: Hub,
    /** Receivers per message that get a chat.deliver span; bounds the cost of big rooms. */
    private readonly deliverySpans = 8,
  ) {
    this.instruments = chatInstruments(metrics.getMeter(SCOPE));
    if (enabled) {
      this.stopObserving = observeCounts(metrics.getMeter(SCOPE), () => ({ ...hub.queued(), rooms: hub.roomCount, members: hub.memberCount, received: this.received, delivered: this.delivered }));
    }
  }

  /** Stops reporting this server's counts (it is going away). */
  dispose(): void {
    this.stopObserving();
  }

  /** Wraps the hub's encoder: each sequenced event's bytes are timed from here. */
  encoded(frame: Uint8Array, isMessage: boolean): Uint8Array {
    if (this.enabled) this.tracked.set(frame, { at: performance.now(), messages: isMessage ? 1 : 0, traces: undefined });
    return frame;
  }

  /** Wraps the batch encoder: a batch carries the timing and traces of what it holds. */
  packed(batch: Uint8Array, frames: Uint8Array[]): Uint8Array {
    if (!this.enabled) return batch;
    let merged: Tracked | undefined;
    for (const frame of frames) {
      const t = this.tracked.get(frame);
      if (t === undefined) continue;
      merged ??= { at: t.at, messages: 0, traces: undefined };
      merged.at = Math.min(merged.at, t.at);
      merged.messages += t.messages;
      if (t.traces !== undefined) (merged.traces ??= []).push(...t.traces);
    }
    if (merged) this.tracked.set(batch, merged);
    return batch;
  }

  streamOpened(): void {
    if (this.enabled) this.instruments.streams.add(1);
  }

  /** A stream ended: its life (chat.stream.duration), its gRPC status and, when it ended in error, the code counted in chat.errors. */
  streamClosed(durationMs: number, status: Status, errorCode?: string): void {
    if (!this.enabled) return;
    this.instruments.streams.add(-1);
    this.instruments.streamDuration.record(durationMs / 1000, { 'rpc.grpc.status_code': status });
    // A cut-off was counted when it happened (cutOff): its stream ends only when its client reads again.
    if (errorCode !== undefined && errorCode !== 'SLOW_CONSUMER') this.error(errorCode);
  }

  /** A session was cut off as a slow consumer, now, for this cause. */
  cutOff(cause: CutOffCause): void {
    if (!this.enabled) return;
    this.instruments.cutoffs.add(1, { 'chat.cutoff.cause': cause });
    this.error('SLOW_CONSUMER');
  }

  /** A room stopped taking publishes and joins, or the whole server did (backpressure). */
  paused(scope: 'room' | 'server'): void {
    if (this.enabled) this.instruments.pauses.add(1, { 'chat.pause.scope': scope });
  }

  /** A unary RPC's duration. */
  unary(method: string, durationMs: number, status: Status): void {
    if (this.enabled) this.instruments.rpc.record(durationMs, rpcAttributes(method, status));
  }

  error(code: string): void {
    if (this.enabled) this.instruments.errors.add(1, { 'chat.error.code': code });
  }

  /**
   * The context a stream's handler starts in (its RPC span). Requests are
   * applied in it explicitly: the server's context manager follows synchronous
   * calls only, not the awaits of the request loop.
   */
  streamContext(): Context | undefined {
    return this.enabled ? context.active() : undefined;
  }

  /** trace_id and span_id of the active span (a stream's, at its start), for its log lines; none when off. */
  logFields(): Record<string, string> {
    const span = this.enabled ? trace.getActiveSpan()?.spanContext() : undefined;
    return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
  }

  /** Runs `fn` in the stream's context. */
  within<T>(stream: Context | undefined, fn: () => T): T {
    return stream === undefined ? fn() : context.with(stream, fn);
  }

  /** Runs a join inside a chat.join span. */
  join(room: string, run: () => JoinResult): JoinResult {
    if (!this.enabled) return run();
    return this.span('chat.join', { 'chat.room': room }, (span) => {
      const result = run();
      span.setAttributes({ 'chat.resume': result.resumed, 'chat.recovered': result.recovered, 'chat.members': result.members });
      if (result.resumed) this.instruments.resumes.add(1, { 'chat.recovered': result.recovered });
      return result;
    });
  }

  /** Runs a leave inside a chat.leave span. */
  leave(room: string, run: () => void): void {
    if (!this.enabled) return run();
    this.span('chat.leave', { 'chat.room': room }, run);
  }

  /**
   * Runs a publish inside a chat.publish span: a child of the sender's trace
   * context, linked to the stream's span, when the sender sent one; else a child
   * of the stream's span. `run` gets the trace context the message carries to
   * its receivers: this span's when the sender traced the message (their
   * chat.receive spans continue its trace), and none when it did not: 70 bytes
   * more to every receiver of every message of a client that traces nothing
   * (the benchmark's, the original proto's) cost more than the span itself,
   * and the server's own chat.deliver spans already say when each write went.
   */
  publish(room: string, senderContext: Record<string, string>, content: string, run: (traceContext: Record<string, string>) => PublishResult): PublishResult {
    if (!this.enabled) return run(senderContext);
    const active = context.active();
    const stream = trace.getSpanContext(active);
    const fromSender = hasKeys(senderContext);
    // No trace from the sender and an unsampled stream: the (parent-based) sampler
    // would drop this span, so do not make it.
    if (!fromSender && stream !== undefined && (stream.traceFlags & TraceFlags.SAMPLED) === 0) {
      return this.measured(run, senderContext);
    }
    const parent = fromSender ? propagation.extract(active, senderContext, carrier) : active;
    const links: Link[] | undefined = stream && trace.getSpanContext(parent) !== stream ? [{ context: stream, attributes: STREAM_LINK }] : undefined;
    const span = this.tracer.startSpan('chat.publish', { kind: SpanKind.PRODUCER, links }, parent);
    try {
      const recording = span.isRecording();
      // Receivers continue the sender's trace from here when it is sampled; otherwise the
      // message carries what the sender sent: no bytes for a trace nobody keeps.
      let forward = senderContext;
      if (recording) {
        // One attribute at a time: no object made per message.
        span.setAttribute('chat.room', room);
        span.setAttribute('chat.payload.size', Buffer.byteLength(content));
        if (fromSender) {
          forward = {};
          propagation.inject(trace.setSpan(parent, span), forward, carrier);
        }
      }
      const result = this.measured(run, forward);
      if (!recording) return result;
      span.setAttribute('chat.seq', result.seq);
      span.setAttribute('chat.fanout.size', result.fanout);
      const traced = Math.min(this.deliverySpans, result.fanout);
      const tracked = this.tracked.get(result.frame);
      if (tracked && traced > 0) (tracked.traces ??= []).push({ span: span.spanContext(), room, seq: result.seq, at: tracked.at, left: traced });
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  /** Runs a publish, counting it and timing its fan-out. */
  private measured(run: (traceContext: Record<string, string>) => PublishResult, traceContext: Record<string, string>): PublishResult {
    const started = performance.now();
    const result = run(traceContext);
    this.instruments.fanout.record((performance.now() - started) / 1000);
    this.received += 1;
    return result;
  }

  /**
   * Frames are about to be written to a session's stream, in one write:
   * delivery metrics, and one chat.deliver span for the traced messages in it
   * whose publishes still want one (see the class comment). Under load a
   * write carries hundreds of messages, mostly the same ones as the other
   * members' writes: the first receiver's span links them one by one (64 at
   * most; the rest wait for the next write), the next receivers' spans link to
   * that span, which says the same in one link instead of dozens.
   */
  written(session: Session, frames: Uint8Array[]): void {
    if (!this.enabled) return;
    const now = performance.now();
    let oldest = Infinity;
    let messages = 0;
    /** The parent: the oldest traced message's publish, or its first delivery. */
    let parent: SpanContext | undefined;
    let links: Link[] | undefined;
    let refs = 0;
    let head: Traced | undefined;
    let startedAt = Infinity;
    let traced = 0;
    /** Messages this span links first (it becomes their `delivery`). */
    let firsts: Traced[] | undefined;
    let lastVia: SpanContext | undefined;
    const refer = (context: SpanContext) => {
      refs += 1;
      if (parent === undefined) parent = context;
      else (links ??= []).push({ context });
    };
    for (const frame of frames) {
      const t = this.tracked.get(frame);
      if (t === undefined) continue;
      oldest = Math.min(oldest, t.at);
      messages += t.messages;
      if (t.traces === undefined) continue;
      let live = false;
      for (const publish of t.traces) {
        if (publish.left <= 0) continue;
        live = true;
        // An earlier receiver's span linked it: link that span, once for the run of messages it covered.
        const via = publish.delivery;
        if (via !== undefined && via === lastVia) {
          // Already linked by this span.
        } else if (refs >= MAX_DELIVERY_LINKS) {
          break;
        } else if (via !== undefined) {
          refer((lastVia = via));
        } else {
          refer(publish.span);
          (firsts ??= []).push(publish);
        }
        publish.left -= 1;
        traced += 1;
        head ??= publish;
        startedAt = Math.min(startedAt, publish.at);
      }
      // Every receiver these messages may have is traced: the other members' writes need not look again.
      if (!live) t.traces = undefined;
    }
    this.delivered += messages;
    if (oldest === Infinity) return;
    this.instruments.latency.record((now - oldest) / 1000);
    if (parent === undefined || head === undefined) return;
    const span = this.tracer.startSpan('chat.deliver', { kind: SpanKind.INTERNAL, startTime: performance.timeOrigin + startedAt, links }, trace.setSpanContext(ROOT_CONTEXT, parent));
    span.setAttribute('chat.room', head.room);
    span.setAttribute('chat.seq', head.seq);
    span.setAttribute('chat.receiver.user_id', session.userId);
    span.setAttribute('chat.receiver.stream', session.id);
    span.setAttribute('chat.write.messages', messages);
    span.setAttribute('chat.write.traced', traced);
    span.end(performance.timeOrigin + now);
    if (firsts !== undefined) for (const publish of firsts) publish.delivery = span.spanContext();
  }

  private span<T>(name: string, attributes: Attributes, run: (span: Span) => T): T {
    return this.tracer.startActiveSpan(name, { attributes }, (span) => {
      try {
        return run(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

/** Whether a trace context map has any entry (Object.keys would make an array per message). */
function hasKeys(map: Record<string, string>): boolean {
  for (const _ in map) return true;
  return false;
}

function rpcAttributes(method: string, status: Status): Attributes {
  return { 'rpc.system': 'grpc', 'rpc.service': 'chat.v1.ChatService', 'rpc.method': method, 'rpc.grpc.status_code': status };
}

