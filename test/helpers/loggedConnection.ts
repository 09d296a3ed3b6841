import { afterEach } from '@jest/globals';
import { ChatConnection, type ChatConnectionOptions } from '../../src/client/ChatConnection.js';
import type { ConnectionEvent, ConnectionState } from '../../src/client/ConnectionEvent.js';
import { TestServer, type TestServerOptions } from './testServer.js';
import { waitFor } from './waitFor.js';

/** Fast retries so the tests wait milliseconds, not the product's seconds. */
export const quick = { initialMs: 50, multiplier: 2, maxMs: 400, jitter: 0.2 };

/** A started ChatConnection (quick backoff unless told) with everything it tells its listeners logged. */
export function loggedConnection(options: ChatConnectionOptions) {
  const connection = new ChatConnection({ backoff: quick, ...options });
  const events: ConnectionEvent[] = [];
  connection.subscribe((e) => events.push(e));
  connection.start();
  const messages = (room: string) => events.flatMap((e) => (e.type === 'message' && e.room === room ? [e.message.content] : []));
  const stateLog = (): ConnectionState[] => events.flatMap((e) => (e.type === 'state' ? [e.state] : []));
  const states = () => stateLog().map((s) => s.kind);
  const joined = (room: string) => waitFor(() => events.some((e) => e.type === 'joined' && e.room === room), { what: `the JoinAck of #${room}` });
  return { connection, events, messages, stateLog, states, joined };
}

/**
 * For a test file of ChatConnections against real servers: registers an afterEach
 * that closes every connection first (so that each server finds every session
 * freed when it stops), then runs the cleanups, the last one first.
 */
export function connectionsPerTest() {
  let connections: ChatConnection[] = [];
  let cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const connection of connections) await connection.close(500);
    for (const cleanup of cleanups.reverse()) await cleanup();
    connections = [];
    cleanups = [];
  });
  const cleanup = (step: () => Promise<unknown> | unknown) => cleanups.push(step);
  return {
    cleanup,
    /** A logged connection, closed after the test. */
    connect(options: ChatConnectionOptions) {
      const logged = loggedConnection(options);
      connections.push(logged.connection);
      return logged;
    },
    /** A server, stopped after the test. */
    async server(options: TestServerOptions = {}): Promise<TestServer> {
      const t = await TestServer.start(options);
      cleanup(() => t.stop());
      return t;
    },
  };
}

/** host:port where a server just was and is no more: connections are refused. */
export async function deadAddress(): Promise<string> {
  const gone = await TestServer.start();
  await gone.stop();
  return gone.address;
}
