import {
  type Attributes,
  type Context,
  context,
  type Link,
  metrics,
  propagation,
  type Span,
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
  /** Publishes whose deliveries still get a span, with how many more each may have. */
  traces: Traced[];
}

interface Traced {
  context: Context;
  room: string;
  seq: number;
  left: number;
}

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
 * chat.leave, chat.publish (parented on the sender's trace_context) and, for the
 * first `deliverySpans` receivers of each message, chat.deliver from sequenced to
 * written. Metrics: chatInstruments.ts and docs/telemetry.md. When `enabled` is false every method is a
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
    if (this.enabled) this.tracked.set(frame, { at: performance.now(), messages: isMessage ? 1 : 0, traces: [] });
    return frame;
  }

  /** Wraps the batch encoder: a batch carries the timing and traces of what it holds. */
  packed(batch: Uint8Array, frames: Uint8Array[]): Uint8Array {
    if (!this.enabled) return batch;
    let merged: Tracked | undefined;
    for (const frame of frames) {
      const t = this.tracked.get(frame);
      if (t === undefined) continue;
      merged ??= { at: t.at, messages: 0, traces: [] };
      merged.at = Math.min(merged.at, t.at);
      merged.messages += t.messages;
      merged.traces.push(...t.traces);
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
   * Runs a publish inside a chat.publish span, a child of the sender's trace
   * context (when it sent one) and linked to the stream's span. `run` gets the
   * trace context the message should carry to its receivers: this span's, so
   * their traces hang off the server's part.
   */
  publish(room: string, senderContext: Record<string, string>, content: string, run: (traceContext: Record<string, string>) => PublishResult): PublishResult {
    if (!this.enabled) return run(senderContext);
    const stream = trace.getSpanContext(context.active());
    // No trace from the sender and an unsampled stream: the (parent-based) sampler
    // would drop this span, so do not make it. Most messages take this way.
    if (Object.keys(senderContext).length === 0 && stream !== undefined && (stream.traceFlags & TraceFlags.SAMPLED) === 0) {
      return this.measured(run, senderContext);
    }
    const payloadBytes = Buffer.byteLength(content);
    const parent = Object.keys(senderContext).length > 0 ? propagation.extract(context.active(), senderContext, carrier) : context.active();
    const links: Link[] = stream && trace.getSpanContext(parent) !== stream ? [{ context: stream, attributes: { 'chat.link': 'stream' } }] : [];
    const span = this.tracer.startSpan('chat.publish', { kind: SpanKind.PRODUCER, links, attributes: { 'chat.room': room, 'chat.payload.size': payloadBytes } }, parent);
    const own = trace.setSpan(parent, span);
    try {
      // Receivers continue the trace from here when it is sampled; otherwise the
      // message carries what the sender sent (often nothing): no bytes for a trace nobody keeps.
      let forward = senderContext;
      if (span.isRecording()) {
        forward = {};
        propagation.inject(own, forward, carrier);
      }
      const result = this.measured(run, forward);
      // A publish the sampler dropped has no deliveries to trace either.
      const traced = span.isRecording() ? Math.min(this.deliverySpans, result.fanout) : 0;
      span.setAttributes({ 'chat.seq': result.seq, 'chat.fanout.size': result.fanout, 'chat.deliveries.traced': traced });
      const tracked = this.tracked.get(result.frame);
      // Only the span's ids are kept for the deliveries (the span object itself is done).
      if (tracked && traced > 0) tracked.traces.push({ context: trace.setSpanContext(ROOT_CONTEXT, span.spanContext()), room, seq: result.seq, left: traced });
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

  /** Frames are about to be written to a session's stream: delivery metrics, and chat.deliver spans while allowed. */
  written(session: Session, frames: Uint8Array[]): void {
    if (!this.enabled) return;
    const now = performance.now();
    let oldest = Infinity;
    let messages = 0;
    for (const frame of frames) {
      const t = this.tracked.get(frame);
      if (t === undefined) continue;
      oldest = Math.min(oldest, t.at);
      messages += t.messages;
      for (const traced of t.traces) {
        if (traced.left <= 0) continue;
        traced.left -= 1;
        this.tracer
          .startSpan(
            'chat.deliver',
            {
              kind: SpanKind.INTERNAL,
              startTime: performance.timeOrigin + t.at,
              attributes: { 'chat.room': traced.room, 'chat.seq': traced.seq, 'chat.receiver.user_id': session.userId, 'chat.receiver.stream': session.id },
            },
            traced.context,
          )
          .end(performance.timeOrigin + now);
      }
    }
    this.delivered += messages;
    if (oldest !== Infinity) this.instruments.latency.record((now - oldest) / 1000);
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

function rpcAttributes(method: string, status: Status): Attributes {
  return { 'rpc.system': 'grpc', 'rpc.service': 'chat.v1.ChatService', 'rpc.method': method, 'rpc.grpc.status_code': status };
}

