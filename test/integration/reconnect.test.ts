import { afterEach, describe, expect, it } from '@jest/globals';
import { ChatConnection, type ChatConnectionOptions } from '../../src/client/ChatConnection.js';
import type { ConnectionEvent } from '../../src/client/ConnectionEvent.js';
import { TcpProxy } from '../helpers/TcpProxy.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** Fast retries so the tests wait milliseconds, not the product's seconds. */
const quick = { initialMs: 50, multiplier: 2, maxMs: 400, jitter: 0.2 };

// Connections close first, so that each server finds every session freed when it stops.
let connections: ChatConnection[] = [];
let cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const connection of connections) await connection.close(500);
  for (const cleanup of cleanups.reverse()) await cleanup();
  connections = [];
  cleanups = [];
});

/** A connection with everything it tells its listeners logged. */
function connect(options: Omit<ChatConnectionOptions, 'backoff'> & { backoff?: ChatConnectionOptions['backoff'] }) {
  const connection = new ChatConnection({ backoff: quick, ...options });
  const events: ConnectionEvent[] = [];
  connection.subscribe((e) => events.push(e));
  connection.start();
  connections.push(connection);
  const messages = (room: string) => events.flatMap((e) => (e.type === 'message' && e.room === room ? [e.message.content] : []));
  const states = () => events.flatMap((e) => (e.type === 'state' ? [e.state.kind] : []));
  const joined = (room: string) => waitFor(() => events.some((e) => e.type === 'joined' && e.room === room), { what: `the JoinAck of #${room}` });
  return { connection, events, messages, states, joined };
}

async function server(options: Parameters<typeof TestServer.start>[0] = {}): Promise<TestServer> {
  const t = await TestServer.start(options);
  cleanups.push(() => t.stop());
  return t;
}

describe('ChatConnection: reconnect and resume', () => {
  it('after the network drops it reconnects, replays what it missed exactly once and in order, and says how many came back', async () => {
    const t = await server();
    const proxy = await TcpProxy.start(t.server.port);
    cleanups.push(() => proxy.close());
    const alice = connect({ address: proxy.address, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    await alice.joined('lobby');
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    await waitFor(() => alice.events.some((e) => e.type === 'user_joined' && e.notice.userId === 'bob'), { what: 'alice to see bob' });
    bob.session.send('lobby', 'before');
    await waitFor(() => alice.messages('lobby').includes('before'), { what: 'the first message' });

    proxy.resetAll();
    await waitFor(() => alice.connection.state.kind === 'reconnecting', { what: 'reconnecting' });
    // Messages sent while alice is away: the resume must bring back all of them.
    for (let i = 0; i < 5; i++) bob.session.send('lobby', `away ${i}`);
    await waitFor(() => alice.events.some((e) => e.type === 'resumed'), { what: 'the resume' });
    bob.session.send('lobby', 'after');
    await waitFor(() => alice.messages('lobby').includes('after'), { what: 'a live message after the resume' });

    expect(alice.messages('lobby')).toEqual(['before', 'away 0', 'away 1', 'away 2', 'away 3', 'away 4', 'after']);
    const resumed = alice.events.find((e) => e.type === 'resumed');
    expect(resumed).toEqual({ type: 'resumed', room: 'lobby', restored: 5, complete: true });
    expect(alice.events.some((e) => e.type === 'missed')).toBe(false);
    const reconnecting = alice.events.find((e) => e.type === 'state' && e.state.kind === 'reconnecting');
    expect(reconnecting).toMatchObject({ state: { attempt: 1, reason: expect.stringContaining('UNAVAILABLE') } });
    expect(alice.states()).toEqual(['connected', 'reconnecting', 'connecting', 'connected']);
    // Every room event passed on once: seqs strictly increase.
    const seqs = alice.events.flatMap((e) => (e.type === 'message' ? [e.message.seq] : e.type === 'user_joined' || e.type === 'user_left' ? [e.notice.seq] : []));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('after a server restart it rejoins every room, reports the old history as lost, and chats on', async () => {
    const first = await TestServer.start();
    const port = first.server.port;
    const alice = connect({ address: `127.0.0.1:${port}`, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    alice.connection.join('annex');
    await waitFor(() => alice.events.filter((e) => e.type === 'joined').length === 2, { what: 'both JoinAcks' });
    alice.connection.send('lobby', 'one');
    await waitFor(() => alice.messages('lobby').includes('one'), { what: 'alice’s own message' });

    // Drain, as on SIGTERM: alice's stream gets SERVER_SHUTDOWN and UNAVAILABLE.
    await first.server.drain();
    await waitFor(() => alice.connection.state.kind === 'reconnecting', { what: 'reconnecting' });
    const second = await server({ port });
    await waitFor(() => alice.events.filter((e) => e.type === 'missed').length === 2, { what: 'both rooms to report the restart', timeoutMs: 10_000 });

    for (const room of ['lobby', 'annex']) {
      expect(alice.events).toContainEqual({ type: 'missed', room, missed: 0, restarted: true });
      // Not also "complete": the view must not say nothing was missed.
      expect(alice.events.filter((e) => e.type === 'resumed' && e.room === room && e.complete)).toEqual([]);
    }
    expect(second.hub.listRooms().map((r) => [r.room, r.memberCount])).toEqual([['annex', 1], ['lobby', 1]]);
    const bob = await second.joined({ userId: 'bob' }, 'lobby');
    alice.connection.send('lobby', 'two');
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'two', 'alice’s message on the new server');
    expect(alice.messages('lobby')).toEqual(['one', 'two']);
  });

  it('sends made while disconnected go out once the room is back, each exactly once', async () => {
    const t = await server();
    const proxy = await TcpProxy.start(t.server.port);
    cleanups.push(() => proxy.close());
    const alice = connect({ address: proxy.address, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    await alice.joined('lobby');
    const bob = await t.joined({ userId: 'bob' }, 'lobby');

    proxy.resetAll();
    await waitFor(() => alice.connection.state.kind === 'reconnecting', { what: 'reconnecting' });
    const ids = ['a', 'b', 'c'].map((text) => alice.connection.send('lobby', text));
    expect(alice.events.filter((e) => e.type === 'pending').map((e) => e.type === 'pending' && e.clientMsgId)).toEqual(ids);

    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'c', 'the last queued message');
    await waitFor(() => alice.messages('lobby').length === 3, { what: 'alice’s own copies' });
    const seen = bob.events.flatMap((e) => (e.type === 'message' ? [[e.message.content, e.message.clientMsgId]] : []));
    expect(seen).toEqual([['a', ids[0]], ['b', ids[1]], ['c', ids[2]]]);
  });

  it('a refusal a retry cannot fix (an invalid user id) closes for good, with the reason, and does not retry', async () => {
    const t = await server();
    const bad = connect({ address: t.address, identity: { userId: 'has space' } });
    bad.connection.join('lobby');
    await waitFor(() => bad.connection.state.kind === 'closed', { what: 'closed' });
    expect(bad.connection.state).toMatchObject({ kind: 'closed', reason: expect.stringContaining('INVALID_ARGUMENT') });
    expect(bad.states()).not.toContain('reconnecting');
  });

  it('while the server is down it keeps trying with growing waits, then connects when it is back', async () => {
    const first = await TestServer.start();
    const port = first.server.port;
    await first.stop();
    const alice = connect({ address: `127.0.0.1:${port}`, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    await waitFor(() => alice.events.filter((e) => e.type === 'state' && e.state.kind === 'reconnecting').length >= 3, { what: 'three failed attempts' });
    const attempts = alice.events.flatMap((e) => (e.type === 'state' && e.state.kind === 'reconnecting' ? [e.state.attempt] : []));
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);

    await server({ port });
    await waitFor(() => alice.events.some((e) => e.type === 'joined'), { what: 'the join once the server is up', timeoutMs: 5000 });
    expect(alice.connection.state.kind).toBe('connected');
  });

  it('close() leaves every room (others see it), ends the stream OK and stays closed', async () => {
    const t = await server();
    const alice = connect({ address: t.address, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    await alice.joined('lobby');
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    await alice.connection.close();
    await bob.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'alice', 'alice leaving');
    expect(alice.connection.state).toEqual({ kind: 'closed' });
    await waitFor(() => t.hub.sessionCount === 1, { what: 'alice’s session to be freed' });
  });
});
