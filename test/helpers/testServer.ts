import { afterEach } from '@jest/globals';
import { pino, type Logger } from 'pino';
import { ChatClient, type ChatClientOptions } from '../../src/client/ChatClient.js';
import type { Identity } from '../../src/client/ChatSession.js';
import type { Limits } from '../../src/domain/limits.js';
import { loadConfig, type ServerConfig } from '../../src/server/config.js';
import { type ChatServer, startChatServer } from '../../src/server/startChatServer.js';
import { EventLog } from './EventLog.js';
import { waitFor } from './waitFor.js';

export interface TestServerOptions extends Partial<Omit<ServerConfig, 'limits'>> {
  limits?: Partial<Limits>;
  /** Record through @opentelemetry/api (the test registers a provider). */
  telemetry?: boolean;
  /** Log here (default: nowhere). */
  logger?: Logger;
}

/**
 * A real chat server on 127.0.0.1:0 plus the clients a test opens on it.
 * `stop()` closes every client, checks that the server freed every session
 * (a leak fails the test), and drains the server.
 */
export class TestServer {
  private readonly clients: ChatClient[] = [];
  private constructor(
    readonly server: ChatServer,
    readonly config: ServerConfig,
  ) {}

  static async start(options: TestServerOptions = {}): Promise<TestServer> {
    const defaults = loadConfig({}, []) as ServerConfig;
    const { telemetry, logger = pino({ level: 'silent' }), ...overrides } = options;
    const config: ServerConfig = {
      ...defaults,
      host: '127.0.0.1',
      port: 0,
      drainGraceMs: 2000,
      ...overrides,
      limits: { ...defaults.limits, ...overrides.limits },
    };
    const server = await startChatServer(config, { logger, telemetry });
    return new TestServer(server, config);
  }

  get address(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  get hub() {
    return this.server.hub;
  }

  /** A new connection to the server, closed by stop(). */
  client(options?: ChatClientOptions): ChatClient {
    const client = new ChatClient(this.address, options);
    this.clients.push(client);
    return client;
  }

  /** Opens a stream on its own connection and starts logging its events. */
  open(identity: Identity, client: ChatClient = this.client()): EventLog {
    return new EventLog(client.openSession(identity));
  }

  /** Opens a stream and joins a room; resolves once the JoinAck is in. */
  async joined(identity: Identity, room: string, client?: ChatClient): Promise<EventLog> {
    const log = this.open(identity, client);
    log.session.join(room);
    await log.joined(room);
    return log;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.close();
    try {
      await waitFor(() => this.hub.sessionCount === 0, { timeoutMs: 5000, what: 'every session to be freed' });
    } finally {
      await this.server.drain();
      this.server.dispose();
    }
  }
}

/**
 * For a test file whose tests each start their own server: registers an afterEach
 * that stops it (failing the test if a session leaked) and returns the starter.
 */
export function serverPerTest(): (options?: TestServerOptions) => Promise<TestServer> {
  let current: TestServer | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return async (options = {}) => (current = await TestServer.start(options));
}
