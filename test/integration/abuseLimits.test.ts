import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Status } from 'nice-grpc';
import type { Limits } from '../../src/domain/limits.js';
import type { EventLog } from '../helpers/EventLog.js';
import { loggedConnection } from '../helpers/loggedConnection.js';
import { Http2Connection, OriginalChannel } from '../helpers/OriginalChannel.js';
import { TestServer, type TestServerOptions } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The abuse limits (docs/protocol.md, "Abuse limits"), each at its edge on a real
 * server: N accepted, N+1 refused with what the docs promise, nothing else lost,
 * and the refusal counted in chat.limits.refused by its chat.limit.
 */
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
beforeAll(() => {
  metrics.setGlobalMeterProvider(meterProvider);
});
afterAll(async () => {
  await meterProvider.shutdown();
  metrics.disable();
});

let t: TestServer | undefined;
/** Raw connections the test opened, closed before its server stops (which checks every session was freed). */
const connections: Http2Connection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await t?.stop();
  t = undefined;
});

const start = async (limits: Partial<Limits>, options: TestServerOptions = {}) => (t = await TestServer.start({ telemetry: true, ...options, limits }));

/** chat.limits.refused for this limit, from a fresh collection (0 before any). */
async function refused(limit: string): Promise<number> {
  await reader.forceFlush();
  const last = exporter.getMetrics().at(-1) as ResourceMetrics | undefined;
  for (const scope of last?.scopeMetrics ?? []) {
    for (const m of scope.metrics) {
      if (m.descriptor.name !== 'chat.limits.refused') continue;
      const point = m.dataPoints.find((p) => p.attributes['chat.limit'] === limit);
      return (point?.value as number | undefined) ?? 0;
    }
  }
  return 0;
}


/** A connection of its own (grpc-js clients in one process share theirs). */
async function open(server: TestServer): Promise<Http2Connection> {
  const connection = await Http2Connection.open(server.address);
  connections.push(connection);
  return connection;
}

/** A stream on `connection` that joins `room` as `userId`. */
function joining(connection: Http2Connection, userId: string, room: string): OriginalChannel {
  const channel = new OriginalChannel(connection);
  channel.join(userId, room);
  return channel;
}

/** Waits for the TYPE_ERROR notice a limit answers a join with, and checks it was counted once more than `before`. */
async function refusedWith(log: EventLog, code: string, room: string, message: string, limit: string, before: number): Promise<void> {
  const notice = await log.error(code);
  expect({ room: notice.room, message: notice.message }).toEqual({ room, message });
  expect(await refused(limit)).toBe(before + 1);
}

/** Sends a chat and waits for the own copy: the stream still works. */
async function works(log: EventLog, room: string): Promise<void> {
  const id = log.session.send(room, 'still here');
  await log.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, `own copy in #${room}`);
  expect(log.end).toBeUndefined();
}

/** Joins again each interval until a join is acknowledged (a token bucket refilling), within the deadline. */
async function joinOnceRefilled(log: EventLog, room: string): Promise<void> {
  const seen = new Set<unknown>(log.events);
  await waitFor(
    async () => {
      log.session.join(room);
      const answer = await log.waitFor((e) => (e.type === 'joined' || e.type === 'error') && e.room === room && !seen.has(e), `answer to a join of #${room}`);
      seen.add(answer);
      return answer.type === 'joined';
    },
    { timeoutMs: 5000, intervalMs: 200, what: `#${room} joined once the bucket refilled` },
  );
}

describe('abuse limits', () => {
  it(`CHAT_MAX_STREAMS_PER_CONNECTION=2: a connection's third Channel stream ends with RESOURCE_EXHAUSTED (TOO_MANY_STREAMS); the others go on, and a freed place is taken again`, async () => {
    const server = await start({}, { maxStreamsPerConnection: 2 });
    const before = await refused('streams_per_connection');
    const connection = await open(server);
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((userId) => joining(connection, userId, 'lobby')) as [OriginalChannel, OriginalChannel, OriginalChannel];
    const end = await waitFor(() => carol.status, { what: "carol's stream to end" });
    expect(end).toEqual({ code: Status.RESOURCE_EXHAUSTED, details: 'TOO_MANY_STREAMS: a connection may have at most 2 Channel streams open' });
    await waitFor(() => alice.counts.acks === 1 && bob.counts.acks === 1, { what: 'alice and bob joined' });
    expect(await refused('streams_per_connection')).toBe(before + 1);
    // Another connection is not affected; the two streams still carry messages.
    const dave = joining(await open(server), 'dave', 'lobby');
    await waitFor(() => dave.counts.acks === 1, { what: 'dave joined on his own connection' });
    alice.chat('lobby', '0:0:0:');
    await waitFor(() => bob.counts.messages === 1 && dave.counts.messages === 1, { what: "alice's message at bob and dave" });
    // A stream that ended frees its place on the connection.
    bob.end();
    await waitFor(() => bob.status, { what: "bob's stream to end" });
    expect(bob.status?.code).toBe(Status.OK);
    const erin = joining(connection, 'erin', 'lobby');
    await waitFor(() => erin.counts.acks === 1 || erin.status, { what: 'erin joined' });
    expect(erin.status).toBeUndefined();
  });

  it('a ChatConnection refused by a connection limit retries with backoff and loses nothing: its pending message goes out once a place is free', async () => {
    const server = await start({}, { maxStreamsPerConnection: 1 });
    // grpc-js clients in one process share one connection: bob's stream takes its only place.
    const bob = await server.joined({ userId: 'bob' }, 'lobby');
    const alice = loggedConnection({ address: server.address, identity: { userId: 'alice' } });
    try {
      alice.connection.join('lobby');
      alice.connection.send('lobby', 'hello');
      await waitFor(() => alice.stateLog().some((s) => s.kind === 'reconnecting' && s.reason.includes('TOO_MANY_STREAMS')), { what: 'alice refused and retrying' });
      bob.session.close();
      await alice.joined('lobby');
      await waitFor(() => alice.messages('lobby').includes('hello'), { what: "alice's own copy of hello" });
      expect(alice.events.filter((e) => e.type === 'refused')).toEqual([]);
    } finally {
      await alice.connection.close(500);
    }
  });

  it(`CHAT_MAX_CONNECTIONS_PER_IP=2: a stream on a third connection from 127.0.0.1 ends with RESOURCE_EXHAUSTED (TOO_MANY_CONNECTIONS); more streams on the two go on`, async () => {
    const server = await start({}, { maxConnectionsPerIp: 2 });
    const before = await refused('connections_per_ip');
    const [one, two, three] = [await open(server), await open(server), await open(server)];
    const alice = joining(one, 'alice', 'lobby');
    const bob = joining(two, 'bob', 'lobby');
    await waitFor(() => alice.counts.acks === 1 && bob.counts.acks === 1, { what: 'alice and bob joined' });
    const carol = joining(three, 'carol', 'lobby');
    const end = await waitFor(() => carol.status, { what: "carol's stream to end" });
    expect(end).toEqual({ code: Status.RESOURCE_EXHAUSTED, details: 'TOO_MANY_CONNECTIONS: 127.0.0.1 may have at most 2 connections with Channel streams open' });
    expect(await refused('connections_per_ip')).toBe(before + 1);
    // A second stream on a counted connection is not a new connection.
    const alice2 = joining(one, 'alice', 'other');
    await waitFor(() => alice2.counts.acks === 1, { what: "alice's second stream joined" });
    alice.chat('lobby', '0:0:0:');
    await waitFor(() => bob.counts.messages === 1, { what: "alice's message at bob" });
    // Once a connection has no stream open, the third connection is let in.
    alice.end();
    alice2.end();
    await waitFor(() => alice.status && alice2.status, { what: "connection one's streams to end" });
    const dave = joining(three, 'dave', 'lobby');
    await waitFor(() => dave.counts.acks === 1 || dave.status, { what: 'dave joined' });
    expect(dave.status).toBeUndefined();
  });

  it("CHAT_JOIN_BURST=3: a stream's three joins at once are accepted, the fourth gets RATE_LIMITED and the stream goes on", async () => {
    const server = await start({ joinRatePerSecond: 1, joinBurst: 3 });
    const before = await refused('joins_per_stream');
    const alice = server.open({ userId: 'alice' });
    for (const room of ['a', 'b', 'c', 'd']) alice.session.join(room);
    for (const room of ['a', 'b', 'c']) await alice.joined(room);
    const notice = await alice.error('RATE_LIMITED');
    expect(notice.room).toBe('d');
    expect(notice.message).toBe('more than 1 joins per second on this stream (burst 3)');
    expect(alice.of('joined').map((e) => e.room)).toEqual(['a', 'b', 'c']);
    expect(await refused('joins_per_stream')).toBe(before + 1);
    await works(alice, 'c');
    // The bucket refills at the join rate.
    await joinOnceRefilled(alice, 'd');
  });

  it('CHAT_RATE_BURST=2 (any envelope): the third at once gets RATE_LIMITED about it, counted as requests_per_stream', async () => {
    const server = await start({ ratePerSecond: 1, rateBurst: 2 });
    const before = await refused('requests_per_stream');
    const alice = server.open({ userId: 'alice' });
    alice.session.join('lobby');
    alice.session.send('lobby', 'one');
    const id = alice.session.send('lobby', 'two');
    const notice = await alice.error('RATE_LIMITED');
    expect({ room: notice.room, clientMsgId: notice.clientMsgId }).toEqual({ room: 'lobby', clientMsgId: id });
    await alice.waitFor((e) => e.type === 'message' && e.message.content === 'one', 'own copy of one');
    expect(alice.contents('lobby')).toEqual(['one']);
    expect(await refused('requests_per_stream')).toBe(before + 1);
  });

  it('CHAT_MAX_ROOMS=2: a join that would create a third room gets SERVER_ROOMS_FULL; joins of existing rooms go on', async () => {
    const server = await start({ maxRooms: 2, roomGraceMs: 0 });
    const before = await refused('rooms_per_server');
    const alice = await server.joined({ userId: 'alice' }, 'one');
    alice.session.join('two');
    await alice.joined('two');
    alice.session.join('three');
    await refusedWith(alice, 'SERVER_ROOMS_FULL', 'three', 'the server holds its limit of 2 rooms (server-wide); join an existing room or retry later', 'rooms_per_server', before);
    expect(server.hub.roomCount).toBe(2);
    const bob = await server.joined({ userId: 'bob' }, 'two');
    await works(bob, 'two');
    // A room freed makes room for another.
    alice.session.leave('one');
    await waitFor(() => server.hub.roomCount === 1, { what: '#one freed' });
    alice.session.join('three');
    await alice.joined('three');
  });

  it('CHAT_MAX_ROOM_MEMBERS=2: a third user gets ROOM_FULL; another session of a member still joins; a place freed is taken', async () => {
    const server = await start({ maxRoomMembers: 2 });
    const before = await refused('members_per_room');
    const alice = await server.joined({ userId: 'alice' }, 'lobby');
    const bob = await server.joined({ userId: 'bob' }, 'lobby');
    const carol = server.open({ userId: 'carol' });
    carol.session.join('lobby');
    await refusedWith(carol, 'ROOM_FULL', 'lobby', '#lobby has its limit of 2 members', 'members_per_room', before);
    // carol's stream is bound and goes on: she can join elsewhere.
    carol.session.join('elsewhere');
    await carol.joined('elsewhere');
    const aliceAgain = await server.joined({ userId: 'alice' }, 'lobby');
    expect(server.hub.listRooms().find((r) => r.room === 'lobby')?.memberCount).toBe(2);
    await works(aliceAgain, 'lobby');
    bob.session.leave('lobby');
    await alice.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'bob', "bob's leave");
    carol.session.join('lobby');
    await carol.joined('lobby');
  });

  it('CHAT_ROOM_CHURN_BURST=3: the fourth member to come at once gets ROOM_BUSY; leaves are never refused; the join goes in once the bucket refills', async () => {
    const server = await start({ roomChurnPerSecond: 2, roomChurnBurst: 3 });
    const before = await refused('room_churn');
    const logs: EventLog[] = [];
    for (const userId of ['alice', 'bob', 'carol']) logs.push(await server.joined({ userId }, 'lobby'));
    const dave = server.open({ userId: 'dave' });
    dave.session.join('lobby');
    await refusedWith(dave, 'ROOM_BUSY', 'lobby', '#lobby has more than 2 joins and leaves per second (burst 3); retry in a moment', 'room_churn', before);
    // Members saw nothing of it; a leave with the bucket empty still goes out.
    const [alice, bob] = logs as [EventLog, EventLog];
    expect(alice.of('user_joined').map((e) => e.notice.userId)).not.toContain('dave');
    bob.session.leave('lobby');
    await alice.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'bob', "bob's leave");
    await works(alice, 'lobby');
    await joinOnceRefilled(dave, 'lobby');
  });
});
