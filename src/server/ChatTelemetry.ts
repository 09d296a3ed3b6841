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
import { DeliveryTraces } from './DeliveryTraces.js';

const SCOPE = 'chat-grpc';

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
 * stream's span) and chat.deliver (DeliveryTraces.ts and docs/telemetry.md):
 * one per write to a receiver's stream that carries traced messages, for the
 * first few receivers of each frame. Metrics: chatInstruments.ts and
 * docs/telemetry.md. When `enabled` is false every method is a
 * pass-through, so telemetry off costs a branch.
 */
export class ChatTelemetry {
  private readonly tracer = trace.getTracer(SCOPE);
  private readonly deliveries: DeliveryTraces;
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
    /** Receivers per frame whose write gets a chat.deliver span; bounds the cost of big rooms. */
    deliverySpans = 8,
  ) {
    this.instruments = chatInstruments(metrics.getMeter(SCOPE));
    this.deliveries = new DeliveryTraces(this.tracer, deliverySpans);
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
    if (this.enabled) this.deliveries.encoded(frame, isMessage);
    return frame;
  }

  /** Wraps the batch encoder: a batch carries the timing and traces of what it holds. */
  packed(batch: Uint8Array, frames: Uint8Array[]): Uint8Array {
    if (this.enabled) this.deliveries.packed(batch, frames);
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

  /** A request or stream was refused by an abuse limit (chat.limits.refused). */
  refused(limit: string): void {
    if (this.enabled) this.instruments.refused.add(1, { 'chat.limit': limit });
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

  /** Runs a join inside a chat.join span (to its answer, for a room shared through the backplane). */
  join<R extends JoinResult | Promise<JoinResult>>(room: string, run: () => R): R {
    if (!this.enabled) return run();
    const record = (span: Span, result: JoinResult) => {
      span.setAttributes({ 'chat.resume': result.resumed, 'chat.recovered': result.recovered, 'chat.members': result.members });
      if (result.resumed) this.instruments.resumes.add(1, { 'chat.recovered': result.recovered });
      return result;
    };
    return this.span('chat.join', { 'chat.room': room }, (span) => {
      const result = run();
      return (result instanceof Promise ? result.then((r) => record(span, r)) : record(span, result)) as R;
    });
  }

  /** Runs a leave inside a chat.leave span (to its answer, for a room shared through the backplane). */
  leave<R extends void | Promise<void>>(room: string, run: () => R): R {
    if (!this.enabled) return run();
    return this.span('chat.leave', { 'chat.room': room }, run);
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
    const started = this.startPublish(room, senderContext, content);
    if (started === undefined) return this.measured(run, senderContext);
    const { span, forward, fromSender } = started;
    try {
      const result = this.measured(run, forward);
      if (!span.isRecording()) return result;
      span.setAttribute('chat.seq', result.seq);
      span.setAttribute('chat.fanout.size', result.fanout);
      this.deliveries.published(result.frame, span.spanContext(), room, result.seq, fromSender);
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * A publish to a room shared through the backplane, inside a chat.publish
   * span made as `publish` makes it, ended once the owner has stored the
   * message and this node applied it (its fan-out here happened then; the
   * chat.deliver spans are not made on this path). chat.fanout.duration
   * counts that whole time.
   */
  async publishShared(room: string, senderContext: Record<string, string>, content: string, run: (traceContext: Record<string, string>) => Promise<number>): Promise<number> {
    if (!this.enabled) return run(senderContext);
    const started = this.startPublish(room, senderContext, content);
    const at = performance.now();
    try {
      const seq = await run(started?.forward ?? senderContext);
      started?.span.setAttribute('chat.seq', seq);
      this.instruments.fanout.record((performance.now() - at) / 1000);
      this.received += 1;
      return seq;
    } catch (error) {
      started?.span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      started?.span.end();
    }
  }

  /**
   * The chat.publish span of a message: a child of the sender's trace context,
   * linked to the stream's span, when the sender sent one; else a child of the
   * stream's span. None when the sender sent no trace and its stream is not
   * sampled: the (parent-based) sampler would drop the span, so it is not made.
   * `forward` is the trace context the message carries to its receivers.
   */
  private startPublish(room: string, senderContext: Record<string, string>, content: string): { span: Span; forward: Record<string, string>; fromSender: boolean } | undefined {
    const active = context.active();
    const stream = trace.getSpanContext(active);
    const fromSender = hasKeys(senderContext);
    if (!fromSender && stream !== undefined && (stream.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
    const parent = fromSender ? propagation.extract(active, senderContext, carrier) : active;
    const links: Link[] | undefined = stream && trace.getSpanContext(parent) !== stream ? [{ context: stream, attributes: STREAM_LINK }] : undefined;
    const span = this.tracer.startSpan('chat.publish', { kind: SpanKind.PRODUCER, links }, parent);
    // Receivers continue the sender's trace from here when it is sampled; otherwise the
    // message carries what the sender sent: no bytes for a trace nobody keeps.
    let forward = senderContext;
    if (span.isRecording()) {
      // One attribute at a time: no object made per message.
      span.setAttribute('chat.room', room);
      span.setAttribute('chat.payload.size', Buffer.byteLength(content));
      if (fromSender) {
        forward = {};
        propagation.inject(trace.setSpan(parent, span), forward, carrier);
      }
    }
    return { span, forward, fromSender };
  }

  /** Runs a publish, counting it and timing its fan-out. */
  private measured(run: (traceContext: Record<string, string>) => PublishResult, traceContext: Record<string, string>): PublishResult {
    const started = performance.now();
    const result = run(traceContext);
    this.instruments.fanout.record((performance.now() - started) / 1000);
    this.received += 1;
    return result;
  }

  /** Frames are about to be written to a session's stream, in one write: delivery metrics and its chat.deliver span (DeliveryTraces). */
  written(session: Session, frames: Uint8Array[]): void {
    if (!this.enabled) return;
    const now = performance.now();
    const { oldest, messages } = this.deliveries.written(session, frames, now);
    this.delivered += messages;
    if (!Number.isNaN(oldest)) this.instruments.latency.record((now - oldest) / 1000);
  }

  /** Runs `run` inside a span, ended when it returns or, for a promise, when that settles. */
  private span<T>(name: string, attributes: Attributes, run: (span: Span) => T): T {
    return this.tracer.startActiveSpan(name, { attributes }, (span) => {
      const failed = (error: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        span.end();
        return error;
      };
      let result: T;
      try {
        result = run(span);
      } catch (error) {
        throw failed(error);
      }
      if (!(result instanceof Promise)) {
        span.end();
        return result;
      }
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          throw failed(error);
        },
      ) as T;
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

