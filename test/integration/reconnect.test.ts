import { describe, expect, it } from '@jest/globals';
import { Readable, Writable } from 'node:stream';
import { ChatConnection } from '../../src/client/ChatConnection.js';
import { lineMode } from '../../src/tui/lineMode.js';
import { connectionsPerTest, deadAddress, quick } from '../helpers/loggedConnection.js';
import { TcpProxy } from '../helpers/TcpProxy.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const { connect, server, cleanup } = connectionsPerTest();

/** A TCP proxy in front of the server, so a test can cut a connection the way a network does. */
async function proxyTo(t: TestServer): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(t.server.port);
  cleanup(() => proxy.close());
  return proxy;
}

/** alice in #lobby through a proxy, and bob (directly), once alice has seen him. */
async function aliceBehindProxyWithBob(t: TestServer) {
  const proxy = await proxyTo(t);
  const alice = connect({ address: proxy.address, identity: { userId: 'alice' } });
  alice.connection.join('lobby');
  await alice.joined('lobby');
  const bob = await t.joined({ userId: 'bob' }, 'lobby');
  await waitFor(() => alice.events.some((e) => e.type === 'user_joined' && e.notice.userId === 'bob'), { what: 'alice to see bob' });
  return { proxy, alice, bob };
}

describe('ChatConnection: reconnect and resume', () => {
  it('after the network drops it reconnects, replays what it missed exactly once and in order, and says how many came back', async () => {
    const { proxy, alice, bob } = await aliceBehindProxyWithBob(await server());
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
    const { proxy, alice, bob } = await aliceBehindProxyWithBob(await server());

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

  it('a message over the server’s envelope limit is refused once, not resent after every reconnect, and later sends go out', async () => {
    const t = await server({ maxMessageBytes: 1024 });
    const alice = connect({ address: t.address, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    await alice.joined('lobby');
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    const big = alice.connection.send('lobby', 'x'.repeat(2000));
    await waitFor(() => alice.events.some((e) => e.type === 'refused'), { what: 'the refusal' });
    expect(alice.events.find((e) => e.type === 'refused')).toMatchObject({ room: 'lobby', clientMsgId: big, reason: expect.stringContaining('RESOURCE_EXHAUSTED') });
    await waitFor(() => alice.events.filter((e) => e.type === 'joined').length === 2, { what: 'the rejoin' });
    alice.connection.send('lobby', 'small');
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'small', 'the next message');
    await waitFor(() => alice.messages('lobby').includes('small'), { what: 'alice’s own copy' });
    // One reconnect for the refused message, none after.
    expect(alice.states().filter((s) => s === 'reconnecting')).toHaveLength(1);
  });

  it('after a rejoin to a server that holds no events, the replay ends and sends made while away go out', async () => {
    const t = await server({ limits: { historyEvents: 0 } });
    const proxy = await proxyTo(t);
    // Alice stays a member on a second stream, so her rejoin brings no presence event that would end the replay by itself.
    await t.joined({ userId: 'alice' }, 'lobby');
    const alice = connect({ address: proxy.address, identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    await alice.joined('lobby');
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    bob.session.send('lobby', 'before');
    await waitFor(() => alice.messages('lobby').includes('before'), { what: 'the first message' });

    proxy.resetAll();
    await waitFor(() => alice.connection.state.kind === 'reconnecting', { what: 'reconnecting' });
    bob.session.send('lobby', 'while away');
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'while away', 'bob’s own copy');
    alice.connection.send('lobby', 'queued');
    await waitFor(() => alice.events.some((e) => e.type === 'resumed'), { what: 'the end of the replay' });
    expect(alice.events).toContainEqual({ type: 'missed', room: 'lobby', missed: 1, restarted: false });
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'queued', 'the message queued while away');
  });

  it('close() says, per room, how many sends never went out, and send() refuses from then on', async () => {
    const alice = connect({ address: await deadAddress(), identity: { userId: 'alice' } });
    alice.connection.join('lobby');
    alice.connection.send('lobby', 'a');
    alice.connection.send('lobby', 'b');
    await alice.connection.close(100);
    expect(alice.events.filter((e) => e.type === 'unsent')).toEqual([{ type: 'unsent', room: 'lobby', count: 2 }]);
    expect(() => alice.connection.send('lobby', 'c')).toThrow('the connection is closed');
  });
});

/** Line mode on a real connection: lines in, what it prints and its exit code out. */
async function runLineMode(connection: ChatConnection, input: AsyncIterable<string>) {
  const printed: string[] = [];
  const output = new Writable({
    write(chunk, _encoding, done) {
      printed.push(...String(chunk).split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const code = await lineMode(connection, input, output);
  return { code, printed };
}

describe('lineMode: its exit code', () => {
  it('is 0 when every message went out', async () => {
    const t = await server();
    const connection = new ChatConnection({ address: t.address, identity: { userId: 'alice' }, backoff: quick });
    connection.join('lobby');
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    const { code, printed } = await runLineMode(connection, Readable.from(['hello']));
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'hello', 'the message');
    expect(code).toBe(0);
    expect(printed.some((l) => / #lobby <alice> hello$/.test(l))).toBe(true);
  });

  it('is 1, with a "not sent" line, when messages were never sent', async () => {
    const connection = new ChatConnection({ address: await deadAddress(), identity: { userId: 'alice' }, backoff: quick });
    connection.join('lobby');
    const { code, printed } = await runLineMode(connection, Readable.from(['hello']));
    expect(code).toBe(1);
    // No JoinAck came, so the line is the client's own (*), naming the room.
    expect(printed.some((l) => / \* ! not sent \(#lobby\): 1 message$/.test(l))).toBe(true);
  });

  it('is 1, without waiting for the end of input, when the server refuses the connection for good', async () => {
    const t = await server();
    const connection = new ChatConnection({ address: t.address, identity: { userId: 'has space' }, backoff: quick });
    connection.join('lobby');
    // Input that never ends, as a terminal nobody types in.
    const never: AsyncIterable<string> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<string>>(() => {}) }) };
    const { code, printed } = await runLineMode(connection, never);
    expect(code).toBe(1);
    expect(printed.some((l) => l.includes('INVALID_ARGUMENT'))).toBe(true);
  });
});
