import { describe, expect, it } from '@jest/globals';
import { ChatConnection, type ChatConnectionOptions } from '../../src/client/ChatConnection.js';
import { connectionsPerTest, deadAddress } from '../helpers/loggedConnection.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A backoff no test can wait out: a test that connects in time shows that no
 * backoff was waited. (The connection closes at the end of the test, which ends any wait.)
 */
const slow = { initialMs: 60_000, multiplier: 1, maxMs: 60_000, jitter: 0 };

const tests = connectionsPerTest();
const { server, cleanup } = tests;

function connect(options: ChatConnectionOptions) {
  const logged = tests.connect(options);
  const connectedTo = () => logged.stateLog().flatMap((s) => (s.kind === 'connected' ? [s.address] : []));
  const joins = (room: string) => logged.events.filter((e) => e.type === 'joined' && e.room === room).length;
  return { ...logged, connectedTo, joins };
}

/**
 * A server the test drains itself (stop() would wait for the client's session to
 * go), drained and freed after the test whatever happened.
 */
async function drainable(): Promise<TestServer> {
  const t = await TestServer.start();
  cleanup(async () => {
    await t.server.drain();
    t.server.dispose();
  });
  return t;
}

/** Drains a server the way SIGTERM does: its streams get SERVER_SHUTDOWN, then UNAVAILABLE. */
const drain = (t: TestServer) => t.server.drain();

describe('ChatConnection with several server addresses', () => {
  it('when the first address refuses the connection, connects to the second at once, without a backoff', async () => {
    const dead = await deadAddress();
    const b = await server();
    const alice = connect({ address: [dead, b.address], identity: { userId: 'alice' }, backoff: slow });
    alice.connection.join('lobby');
    await alice.joined('lobby');
    await waitFor(() => alice.connection.state.kind === 'connected', { what: 'connected' });

    expect(alice.connection.address).toBe(b.address);
    expect(alice.stateLog()).toEqual([
      { kind: 'reconnecting', attempt: 1, at: expect.any(Number), reason: expect.stringContaining('UNAVAILABLE'), address: b.address },
      { kind: 'connecting', address: b.address },
      { kind: 'connected', address: b.address },
    ]);
    expect(b.hub.listRooms().map((r) => [r.room, r.memberCount])).toEqual([['lobby', 1]]);
  });

  it('when its server drains, reconnects to the next one at once, rejoins every room there and chats on', async () => {
    const a = await drainable();
    const b = await server();
    const alice = connect({ address: `${a.address},${b.address}`, identity: { userId: 'alice' }, backoff: slow });
    alice.connection.join('lobby');
    alice.connection.join('annex');
    await waitFor(() => alice.joins('lobby') === 1 && alice.joins('annex') === 1, { what: 'both JoinAcks on the first server' });
    await waitFor(() => alice.connectedTo().length === 1, { what: 'connected, 1 time' });
    expect(alice.connectedTo()).toEqual([a.address]);

    await drain(a);
    await waitFor(() => alice.joins('lobby') === 2 && alice.joins('annex') === 2, { what: 'both rooms rejoined on the second server' });
    await waitFor(() => alice.connectedTo().length === 2, { what: 'connected, 2 times' });
    expect(alice.connectedTo()).toEqual([a.address, b.address]);
    expect(alice.connection.address).toBe(b.address);
    // The reason it moved on: the drain's SERVER_SHUTDOWN.
    const reconnecting = alice.stateLog().find((s) => s.kind === 'reconnecting');
    expect(reconnecting).toMatchObject({ attempt: 1, address: b.address, reason: expect.stringContaining('SERVER_SHUTDOWN') });
    expect(b.hub.listRooms().map((r) => [r.room, r.memberCount])).toEqual([['annex', 1], ['lobby', 1]]);
    // Two servers without a backplane: the rooms there are new, and the rejoin says so.
    await waitFor(() => alice.events.filter((e) => e.type === 'missed').length === 2, { what: 'both rooms to report the other server' });
    for (const room of ['lobby', 'annex']) expect(alice.events).toContainEqual({ type: 'missed', room, missed: 0, restarted: true });

    const bob = await b.joined({ userId: 'bob' }, 'lobby');
    alice.connection.send('lobby', 'on the second server');
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'on the second server', 'alice’s message on the second server');
    await waitFor(() => alice.messages('lobby').includes('on the second server'), { what: 'alice’s own copy' });
  });

  it('goes round the list: after the last address it comes back to the first', async () => {
    const a = await drainable();
    const port = a.server.port;
    const b = await drainable();
    const alice = connect({ address: [a.address, b.address], identity: { userId: 'alice' }, backoff: slow });
    alice.connection.join('lobby');
    await alice.joined('lobby');

    await drain(a);
    await waitFor(() => alice.joins('lobby') === 2, { what: 'the rejoin on the second server' });
    // The first server is back (on its port) when the second goes away.
    const again = await server({ port });
    await drain(b);
    await waitFor(() => alice.joins('lobby') === 3, { what: 'the rejoin on the first server, back' });

    await waitFor(() => alice.connectedTo().length === 3, { what: 'connected, 3 times' });
    expect(alice.connectedTo()).toEqual([a.address, b.address, again.address]);
    expect(again.address).toBe(a.address);
    expect(again.hub.listRooms().map((r) => [r.room, r.memberCount])).toEqual([['lobby', 1]]);
  });

  it('with every address down, goes round them and waits a backoff only after each full round', async () => {
    const [x, y] = [await deadAddress(), await deadAddress()];
    // Jitter 0, so each planned wait is exact.
    const alice = connect({ address: [x, y], identity: { userId: 'alice' }, backoff: { initialMs: 100, multiplier: 2, maxMs: 1000, jitter: 0 } });
    // When each plan was made: `at` minus this is the wait.
    const planned: Array<{ address: string; attempt: number; waitMs: number }> = [];
    alice.connection.subscribe((e) => {
      if (e.type === 'state' && e.state.kind === 'reconnecting') planned.push({ address: e.state.address, attempt: e.state.attempt, waitMs: e.state.at - Date.now() });
    });
    await waitFor(() => planned.length >= 4, { what: 'four failed attempts' });

    expect(planned.slice(0, 4).map(({ address, attempt }) => [address, attempt])).toEqual([
      [y, 1],
      [x, 2],
      [y, 3],
      [x, 4],
    ]);
    const waits = planned.slice(0, 4).map((p) => p.waitMs);
    // At once within a round; 100 ms, then 200 ms, after the first and second full rounds.
    expect(waits[0]).toBeLessThanOrEqual(0);
    expect(waits[1]).toBeGreaterThan(90);
    expect(waits[1]).toBeLessThanOrEqual(100);
    expect(waits[2]).toBeLessThanOrEqual(0);
    expect(waits[3]).toBeGreaterThan(190);
    expect(waits[3]).toBeLessThanOrEqual(200);
  });

  it('refuses an address list with an empty entry, saying so', () => {
    expect(() => new ChatConnection({ address: '127.0.0.1:1, ,127.0.0.1:2', identity: { userId: 'alice' } })).toThrow(
      'the server address list "127.0.0.1:1, ,127.0.0.1:2" has an empty entry (number 2 of 3)',
    );
  });
});
