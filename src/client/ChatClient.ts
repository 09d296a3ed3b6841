import { connectivityState, credentials } from '@grpc/grpc-js';
import { createChannel, createClientFactory, type Channel } from 'nice-grpc';
import { openTelemetryClientMiddleware } from 'nice-grpc-opentelemetry';
import { ChatServiceDefinition, type ChatServiceClient, type RoomInfo } from '../../gen/chat/v1/chat.js';
import { ChatSession, type Identity } from './ChatSession.js';
import type { ClientTls } from './ClientTls.js';
import { type TokenCallOptions, tokenMiddleware, type TokenSource } from './TokenSource.js';

export interface ChatClientOptions {
  /** Ping the server after this much idle time, to notice a dead connection. */
  keepaliveTimeMs?: number;
  /** How long a ping may go unanswered. */
  keepaliveTimeoutMs?: number;
  /**
   * Give each call a client span and carry its context in the metadata
   * (nice-grpc-opentelemetry). Turn on once an OpenTelemetry SDK is started:
   * without one it only adds a step to every message.
   */
  telemetry?: boolean;
  /** Connect over TLS (see ClientTls); none: plaintext. */
  tls?: ClientTls;
  /**
   * For a server with auth on: the JWT sent as `authorization: Bearer` on every
   * call, or a function returning the current one; each stream refreshes it
   * (RefreshToken) before its exp when the function gives a new one.
   */
  token?: TokenSource;
}

/** A connection to a chat server; open any number of sessions (streams) on it. */
export class ChatClient {
  private readonly channel: Channel;
  private readonly sessions = new Set<ChatSession>();
  private closed = false;
  /** The generated nice-grpc client, for calls this class does not wrap. */
  readonly rpc: ChatServiceClient<TokenCallOptions>;
  private readonly token: TokenSource | undefined;

  constructor(
    /** host:port of the server. */
    readonly address: string,
    options: ChatClientOptions = {},
  ) {
    const tls = options.tls && credentials.createSsl(options.tls.ca ?? null, options.tls.key ?? null, options.tls.cert ?? null);
    this.channel = createChannel(address, tls, {
      'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      // HTTP/2 starts with a 64 KiB window per connection; a busy room (or a big
      // JoinAck) would then wait on window updates. 4 MiB lets it flow.
      'grpc-node.flow_control_window': 4 * 1024 * 1024,
    });
    const traced = options.telemetry ? createClientFactory().use(openTelemetryClientMiddleware()) : createClientFactory();
    this.token = options.token;
    this.rpc = (options.token === undefined ? traced : traced.use(tokenMiddleware(options.token))).create(ChatServiceDefinition, this.channel);
  }

  /** Opens a Channel stream speaking as `identity`. */
  openSession(identity: Identity): ChatSession {
    const session = new ChatSession(this.rpc, identity, () => this.sessions.delete(session), this.token);
    this.sessions.add(session);
    return session;
  }

  /** Resolves once the connection is up (connecting if it is not); rejects at the deadline or on close(). */
  async waitForReady(deadline: Date): Promise<void> {
    // Not nice-grpc's waitForChannelReady: after close() grpc-js can leave the channel out of
    // SHUTDOWN, and its wait then holds a timer (and the process) until the deadline. Short
    // steps let a closed client stop waiting at once.
    for (;;) {
      if (this.closed) throw new Error('the client was closed');
      const state = this.channel.getConnectivityState(true);
      if (state === connectivityState.READY) return;
      if (Date.now() >= deadline.getTime()) throw new Error('the connection was not ready before the deadline');
      const step = new Date(Math.min(deadline.getTime(), Date.now() + 250));
      await new Promise<void>((resolve) => {
        try {
          this.channel.watchConnectivityState(state, step, () => resolve());
        } catch {
          resolve(); // shut down: the next turn sees `closed`
        }
      });
    }
  }

  /** The rooms that exist now, sorted by name. */
  async listRooms(): Promise<RoomInfo[]> {
    return (await this.rpc.listRooms({})).rooms;
  }

  /** Cancels every open stream and closes the connection. */
  close(): void {
    this.closed = true;
    // grpc-js leaves running calls alone when a channel closes: end them first.
    for (const session of this.sessions) session.cancel();
    this.sessions.clear();
    setImmediate(() => this.channel.close());
  }
}
