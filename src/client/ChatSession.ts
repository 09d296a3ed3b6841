import { randomUUID } from 'node:crypto';
import type { ChatServiceClient, ClientEnvelope, DeepPartial } from '../../gen/chat/v1/chat.js';
import { AsyncQueue } from '../lib/AsyncQueue.js';
import { type ChatEvent, toChatEvents } from './ChatEvent.js';

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

  constructor(
    client: ChatServiceClient,
    /** Who this session speaks as. */
    readonly identity: Identity,
    private readonly onEnd: () => void = () => {},
  ) {
    this.responses = client.channel(this.outbox, { signal: this.controller.signal });
  }

  /** Joins a room; the JoinAck arrives as a `joined` event. */
  join(room: string, options: JoinOptions = {}): void {
    const { userId, displayName = '' } = this.identity;
    // Batches: fewer, larger messages under load; this client unpacks them.
    this.envelope({ message: { $case: 'join', value: { userId, room, displayName, batchEvents: true, ...options } } });
  }

  /** Sends a message; returns its client_msg_id, echoed on the own copy and on errors. */
  send(room: string, content: string, clientMsgId: string = randomUUID()): string {
    const { userId } = this.identity;
    this.envelope({ message: { $case: 'chat', value: { userId, room, content, clientMsgId } } });
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
      for await (const raw of this.responses) yield* toChatEvents(raw);
    } finally {
      this.onEnd();
    }
  }
}
