import { randomUUID } from 'node:crypto';
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ChatServiceClient, ClientEnvelope, DeepPartial } from '../../gen/chat/v1/chat.js';
import { AsyncQueue } from '../lib/AsyncQueue.js';
import { type ChatEvent, toChatEvents } from './ChatEvent.js';
import { TokenRefresher } from './TokenRefresher.js';
import type { TokenCallOptions, TokenSource } from './TokenSource.js';

const tracer = trace.getTracer('chat-grpc-client');

/** Who a session speaks as. */
export interface Identity {
  userId: string;
  /** Defaults to userId on the server. */
  displayName?: string;
}

/** Options of a join. */
export interface JoinOptions {
  /** How many recent messages the JoinAck should carry. */
  history?: number;
  /** Resume: replay events after this seq. */
  afterSeq?: number;
  /** The epoch afterSeq belongs to. */
  epoch?: string;
}

/**
 * One Channel stream: send with join/send/leave, read with `for await` (once).
 * `close()` half-closes (the server leaves every room, flushes and ends OK);
 * `cancel()` aborts. Reading ends with the stream, throwing its error status.
 */
export class ChatSession implements AsyncIterable<ChatEvent> {
  private readonly outbox = new AsyncQueue<DeepPartial<ClientEnvelope>>();
  private readonly controller = new AbortController();
  private readonly responses;
  /** chat.send spans waiting for their own copy, by client_msg_id. */
  private readonly sending = new Map<string, Span>();

  /** Refreshes the stream's token before it expires (a token function only: a fixed token cannot change). */
  private readonly refresher: TokenRefresher | undefined;

  constructor(
    client: ChatServiceClient<TokenCallOptions>,
    /** Who this session speaks as. */
    readonly identity: Identity,
    private readonly onEnd: () => void = () => {},
    token?: TokenSource,
  ) {
    const refresher = typeof token === 'function' ? new TokenRefresher(token, (fresh) => this.refresh(fresh)) : undefined;
    this.refresher = refresher;
    this.responses = client.channel(this.outbox, { signal: this.controller.signal, onToken: refresher && ((sent) => refresher.started(sent)) });
  }

  /** Replaces the stream's token (RefreshToken); the session does it on its own with a token function. */
  refresh(token: string): void {
    this.envelope({ message: { $case: 'refresh', value: { token } } });
  }

  /** Joins a room; the JoinAck arrives as a `joined` event. */
  join(room: string, options: JoinOptions = {}): void {
    const { userId, displayName = '' } = this.identity;
    // Batches: fewer, larger messages under load; this client unpacks them.
    this.envelope({ message: { $case: 'join', value: { userId, room, displayName, batchEvents: true, ...options } } });
  }

  /**
   * Sends a message; returns its client_msg_id, echoed on the own copy and on
   * errors. With telemetry on, a chat.send span covers the send until the own
   * copy comes back, and its W3C context rides in trace_context.
   */
  send(room: string, content: string, clientMsgId: string = randomUUID()): string {
    const { userId } = this.identity;
    const traceContext: Record<string, string> = {};
    const span = tracer.startSpan('chat.send', { kind: SpanKind.PRODUCER, attributes: { 'chat.room': room, 'chat.client_msg_id': clientMsgId } });
    if (span.isRecording()) {
      propagation.inject(trace.setSpan(context.active(), span), traceContext);
      this.sending.set(clientMsgId, span);
    }
    this.envelope({ message: { $case: 'chat', value: { userId, room, content, clientMsgId, traceContext } } });
    return clientMsgId;
  }

  /** Leaves one room; the stream stays open. */
  leave(room: string): void {
    this.envelope({ message: { $case: 'leave', value: { userId: this.identity.userId, room } } });
  }

  /** Sends any envelope as it is (tests use it to send what a bad client would). */
  envelope(envelope: DeepPartial<ClientEnvelope>): void {
    this.outbox.push(envelope);
  }

  /** Half-closes: no more requests; the server flushes and ends the stream OK. */
  close(): void {
    this.outbox.close();
  }

  /** Cancels the stream (on the next turn of the event loop, see below). */
  cancel(): void {
    // @grpc/grpc-js 1.14 loses a cancel made in the same tick a call starts on a
    // connected channel: it creates the HTTP/2 stream in a promise callback that
    // does not check whether the call already ended (build/src/resolving-call.js,
    // getConfig), so the server would keep the stream. After setImmediate the
    // stream exists and the cancel reaches it.
    setImmediate(() => this.controller.abort());
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChatEvent, void, undefined> {
    try {
      for await (const raw of this.responses) {
        const events = toChatEvents(raw);
        for (const event of events) {
          this.traceReceived(event);
          if (event.type === 'notice' && event.notice.code === 'TOKEN_EXPIRING') this.refresher?.expiring();
        }
        yield* events;
      }
    } finally {
      this.refresher?.stop();
      for (const span of this.sending.values()) span.end();
      this.sending.clear();
      this.onEnd();
    }
  }

  /** Ends the send span of our own copy; gives a received message its chat.receive span in the sender's trace. */
  private traceReceived(event: ChatEvent): void {
    if (event.type === 'error' && event.notice.clientMsgId !== '') {
      this.sending.get(event.notice.clientMsgId)?.setStatus({ code: SpanStatusCode.ERROR, message: event.notice.code }).end();
      this.sending.delete(event.notice.clientMsgId);
    }
    if (event.type !== 'message' || !('traceparent' in event.message.traceContext)) return;
    const { message } = event;
    const own = this.sending.get(message.clientMsgId);
    if (own !== undefined) {
      // Our own copy: the send is done; it is no receipt of someone else's message.
      own.setAttribute('chat.seq', message.seq).end();
      this.sending.delete(message.clientMsgId);
      return;
    }
    const parent = propagation.extract(context.active(), message.traceContext);
    const attributes = { 'chat.room': message.room, 'chat.seq': message.seq, 'chat.sender.user_id': message.userId, 'chat.receiver.user_id': this.identity.userId };
    tracer.startSpan('chat.receive', { kind: SpanKind.CONSUMER, attributes }, parent).end();
  }
}
