import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import { type ChatEvent, seqOf } from '../../src/client/ChatEvent.js';
import type { EventLog } from '../helpers/EventLog.js';
import { TestServer } from '../helpers/testServer.js';

type Notice = Extract<ChatEvent, { type: 'user_joined' | 'user_left' }>;
type Message = Extract<ChatEvent, { type: 'message' }>;

/** Members of a JoinAck, sorted by user id, as plain { userId, displayName } pairs. */
function members(ack: { members: Array<{ userId: string; displayName: string }> }) {
  return ack.members
    .map(({ userId, displayName }) => ({ userId, displayName }))
    .sort((a, b) => (a.userId < b.userId ? -1 : 1));
}

/** Waits for a join or leave notice of `userId` in `room`. */
async function presence(log: EventLog, type: Notice['type'], userId: string, room: string): Promise<Notice> {
  return (await log.waitFor(
    (e) => e.type === type && e.room === room && e.notice.userId === userId,
    `${type} of ${userId} in #${room} at ${log.session.identity.userId}`,
  )) as Notice;
}

/** Waits for the chat message with this content in `room`. */
async function message(log: EventLog, room: string, content: string): Promise<Message> {
  return (await log.waitFor(
    (e) => e.type === 'message' && e.room === room && e.message.content === content,
    `"${content}" in #${room} at ${log.session.identity.userId}`,
  )) as Message;
}

/** The seqs of the room's sequenced events a log holds after its latest JoinAck of the room. */
function seqsSinceAck(log: EventLog, room: string): { lastSeq: number; seqs: number[] } {
  const acks = log.events.flatMap((e, i) => (e.type === 'joined' && e.room === room ? [i] : []));
  const at = acks[acks.length - 1]!;
  const ack = log.events[at] as Extract<ChatEvent, { type: 'joined' }>;
  const seqs = log.events
    .slice(at + 1)
    .filter((e) => e.room === room && (e.type === 'message' || e.type === 'user_joined' || e.type === 'user_left'))
    .map(seqOf);
  return { lastSeq: ack.ack.lastSeq, seqs };
}

/**
 * Half-closes every stream still open and checks each ends OK. (t.stop() alone would
 * not end them: ChatClient.close() leaves open calls running; see the report.)
 */
async function closeAll(...logs: EventLog[]): Promise<void> {
  const open = logs.filter((log) => log.end === undefined);
  for (const log of open) log.session.close();
  for (const log of open) expect((await log.waitEnd()).code).toBe(Status.OK);
}

function expectGapless(log: EventLog, room: string): void {
  const { lastSeq, seqs } = seqsSinceAck(log, room);
  expect(seqs).toEqual(seqs.map((_, i) => lastSeq + 1 + i));
}

describe('presence', () => {
  let t: TestServer;
  beforeEach(async () => (t = await TestServer.start()));
  afterEach(async () => t.stop());

  it('the JoinAck lists the joiner and everyone already present, once each', async () => {
    const alice = await t.joined({ userId: 'alice', displayName: 'Alice' }, 'lobby');
    const bob = await t.joined({ userId: 'bob', displayName: 'Bob' }, 'lobby');
    const carol = await t.joined({ userId: 'carol', displayName: 'Carol C.' }, 'lobby');

    expect(members(await alice.joined('lobby'))).toEqual([{ userId: 'alice', displayName: 'Alice' }]);
    expect(members(await bob.joined('lobby'))).toEqual([
      { userId: 'alice', displayName: 'Alice' },
      { userId: 'bob', displayName: 'Bob' },
    ]);
    const ack = await carol.joined('lobby');
    expect(ack.userId).toBe('carol');
    expect(ack.room).toBe('lobby');
    expect(members(ack)).toEqual([
      { userId: 'alice', displayName: 'Alice' },
      { userId: 'bob', displayName: 'Bob' },
      { userId: 'carol', displayName: 'Carol C.' },
    ]);
    // A member without a display name is listed under its user id.
    const dave = await t.joined({ userId: 'dave' }, 'lobby');
    expect(members(await dave.joined('lobby'))).toContainEqual({ userId: 'dave', displayName: 'dave' });
    await closeAll(alice, bob, carol, dave);
  });

  it('join and leave notices reach the others with seq and display_name, however the leaver goes', async () => {
    const alice = await t.joined({ userId: 'alice', displayName: 'Alice' }, 'lobby');

    const bob = await t.joined({ userId: 'bob', displayName: 'Bob B.' }, 'lobby');
    const bobAck = await bob.joined('lobby');
    const bobJoined = await presence(alice, 'user_joined', 'bob', 'lobby');
    expect(bobJoined.notice).toMatchObject({ room: 'lobby', userId: 'bob', displayName: 'Bob B.', seq: bobAck.lastSeq + 1 });

    // An explicit LeaveRequest.
    bob.session.leave('lobby');
    const bobLeft = await presence(alice, 'user_left', 'bob', 'lobby');
    expect(bobLeft.notice).toMatchObject({ room: 'lobby', userId: 'bob', displayName: 'Bob B.', seq: bobAck.lastSeq + 2 });

    // A cancelled stream.
    const carol = await t.joined({ userId: 'carol', displayName: 'Carol' }, 'lobby');
    await presence(alice, 'user_joined', 'carol', 'lobby');
    carol.session.cancel();
    const carolLeft = await presence(alice, 'user_left', 'carol', 'lobby');
    expect(carolLeft.notice).toMatchObject({ userId: 'carol', displayName: 'Carol', seq: bobAck.lastSeq + 4 });

    // A half-closed stream.
    const dave = await t.joined({ userId: 'dave', displayName: 'Dave' }, 'lobby');
    await presence(alice, 'user_joined', 'dave', 'lobby');
    dave.session.close();
    expect((await dave.waitEnd()).code).toBe(Status.OK);
    const daveLeft = await presence(alice, 'user_left', 'dave', 'lobby');
    expect(daveLeft.notice).toMatchObject({ userId: 'dave', displayName: 'Dave', seq: bobAck.lastSeq + 6 });

    // The others saw each notice once, at consecutive seqs.
    expectGapless(alice, 'lobby');
    expect(alice.of('user_joined', 'lobby').map((e) => e.notice.userId)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(alice.of('user_left', 'lobby').map((e) => e.notice.userId)).toEqual(['bob', 'carol', 'dave']);
    await closeAll(alice, bob);
  });

  it('the joiner receives its own join notice right after its JoinAck', async () => {
    const alice = await t.joined({ userId: 'alice', displayName: 'Alice' }, 'lobby');
    const first = await presence(alice, 'user_joined', 'alice', 'lobby');
    expect(alice.events.indexOf(first)).toBe(alice.events.findIndex((e) => e.type === 'joined') + 1);
    expect(first.notice).toMatchObject({ userId: 'alice', displayName: 'Alice', seq: 1 });

    alice.session.send('lobby', 'one');
    alice.session.send('lobby', 'two');
    await message(alice, 'lobby', 'two');

    const bob = t.open({ userId: 'bob', displayName: 'Bob' });
    bob.session.join('lobby', { history: 10 });
    const ack = await bob.joined('lobby');
    expect(ack.lastSeq).toBe(3);
    expect(ack.history.map((m) => m.content)).toEqual(['one', 'two']);
    const own = await presence(bob, 'user_joined', 'bob', 'lobby');
    const ackAt = bob.events.findIndex((e) => e.type === 'joined');
    expect(bob.events.indexOf(own)).toBe(ackAt + 1);
    expect(own.notice).toMatchObject({ room: 'lobby', userId: 'bob', displayName: 'Bob', seq: ack.lastSeq + 1 });
    await closeAll(alice, bob);
  });

  it('a user on two streams is listed once; only its first join and its last leave are announced', async () => {
    const carol = await t.joined({ userId: 'carol', displayName: 'Carol' }, 'lobby');
    const alice = { userId: 'alice', displayName: 'Alice' };
    const phone = await t.joined(alice, 'lobby');
    await presence(carol, 'user_joined', 'alice', 'lobby');

    // The second session is let in without a second announcement.
    const laptop = await t.joined(alice, 'lobby');
    const laptopAck = await laptop.joined('lobby');
    expect(members(laptopAck)).toEqual([
      { userId: 'alice', displayName: 'Alice' },
      { userId: 'carol', displayName: 'Carol' },
    ]);
    const [listed] = await t.client().listRooms();
    expect(listed).toMatchObject({ room: 'lobby', memberCount: 2, lastSeq: laptopAck.lastSeq });
    carol.session.send('lobby', 'marker 1');
    // The marker is the very next event after the laptop's JoinAck: no join notice was sequenced.
    expect((await message(laptop, 'lobby', 'marker 1')).message.seq).toBe(laptopAck.lastSeq + 1);
    expect(laptop.of('user_joined')).toEqual([]);

    // The phone leaves; alice is still there on the laptop, so nothing is announced.
    phone.session.leave('lobby');
    phone.session.send('lobby', 'from the phone', 'late-1');
    const refused = await phone.error('NOT_JOINED'); // the leave has been applied
    expect(refused).toMatchObject({ room: 'lobby', clientMsgId: 'late-1' });
    carol.session.send('lobby', 'marker 2');
    expect((await message(carol, 'lobby', 'marker 2')).message.seq).toBe(laptopAck.lastSeq + 2);
    expect((await message(laptop, 'lobby', 'marker 2')).message.seq).toBe(laptopAck.lastSeq + 2);
    // The phone no longer gets the room's events (checked after a second refusal, which
    // the server queued after anything it fanned out to the phone before).
    phone.session.send('lobby', 'from the phone again', 'late-2');
    await phone.waitFor((e) => e.type === 'error' && e.notice.clientMsgId === 'late-2', 'second refusal');
    expect(phone.contents('lobby')).toEqual(['marker 1']);
    expect(carol.of('user_left')).toEqual([]);
    expect((await t.client().listRooms())[0]).toMatchObject({ memberCount: 2 });

    // The last session goes: now the leave is announced.
    laptop.session.close();
    expect((await laptop.waitEnd()).code).toBe(Status.OK);
    const left = await presence(carol, 'user_left', 'alice', 'lobby');
    expect(left.notice).toMatchObject({ displayName: 'Alice', seq: laptopAck.lastSeq + 3 });
    expect(carol.of('user_joined').map((e) => e.notice.userId)).toEqual(['carol', 'alice']);
    expect(carol.of('user_left').map((e) => e.notice.userId)).toEqual(['alice']);
    expectGapless(carol, 'lobby');
    expect((await t.client().listRooms())[0]).toMatchObject({ memberCount: 1, lastSeq: laptopAck.lastSeq + 3 });
    await closeAll(carol, phone);
  });

  it('one stream joins many rooms and every event carries its own room and sequence', async () => {
    const rooms = ['red', 'green', 'blue'];
    const alice = t.open({ userId: 'alice', displayName: 'Alice' });
    for (const room of rooms) alice.session.join(room);
    for (const room of rooms) expect((await alice.joined(room)).lastSeq).toBe(0);

    const bob = t.open({ userId: 'bob', displayName: 'Bob' });
    bob.session.join('red');
    bob.session.join('green');
    const carol = await t.joined({ userId: 'carol', displayName: 'Carol' }, 'blue');
    await bob.joined('red');
    await bob.joined('green');

    for (const room of ['red', 'green']) bob.session.send(room, `bob in ${room}`);
    carol.session.send('blue', 'carol in blue');
    for (const room of rooms) alice.session.send(room, `alice in ${room}`);

    for (const room of rooms) await message(alice, room, `alice in ${room}`);
    for (const room of ['red', 'green']) {
      const joined = await presence(alice, 'user_joined', 'bob', room);
      expect(joined.notice.room).toBe(room);
      expect((await message(alice, room, `bob in ${room}`)).message.room).toBe(room);
    }
    expect((await message(alice, 'blue', 'carol in blue')).message.room).toBe('blue');

    // Every message alice got names the room it was sent to, and each room has its own sequence.
    for (const event of alice.of('message')) expect(event.message.content.endsWith(` in ${event.room}`)).toBe(true);
    for (const room of rooms) {
      expectGapless(alice, room);
      expect(alice.contents(room).sort()).toEqual(
        (room === 'blue' ? ['alice in blue', 'carol in blue'] : [`alice in ${room}`, `bob in ${room}`]).sort(),
      );
    }
    expect(bob.contents('blue')).toEqual([]);
    await closeAll(alice, bob, carol);
  });

  it('a LeaveRequest leaves one room and the stream keeps working in the others', async () => {
    const alice = t.open({ userId: 'alice', displayName: 'Alice' });
    alice.session.join('one');
    alice.session.join('two');
    await alice.joined('one');
    await alice.joined('two');
    const bob = await t.joined({ userId: 'bob', displayName: 'Bob' }, 'one');
    const carol = await t.joined({ userId: 'carol', displayName: 'Carol' }, 'two');

    alice.session.leave('one');
    const left = await presence(bob, 'user_left', 'alice', 'one');
    expect(left.notice).toMatchObject({ room: 'one', displayName: 'Alice' });

    // The left room refuses her messages; the stream stays open.
    alice.session.send('one', 'still in one?', 'm-1');
    expect(await alice.error('NOT_JOINED')).toMatchObject({ room: 'one', clientMsgId: 'm-1' });
    alice.session.send('two', 'still in two');
    expect((await message(carol, 'two', 'still in two')).message.userId).toBe('alice');
    await message(alice, 'two', 'still in two');

    // The left room's events no longer reach her: bob's message is fanned out (he has his
    // copy) before alice's next message in #two is even sent, and her stream is in order.
    bob.session.send('one', 'not for alice');
    await message(bob, 'one', 'not for alice');
    alice.session.send('two', 'marker');
    await message(alice, 'two', 'marker');
    expect(alice.contents('one')).toEqual([]);
    expect(alice.end).toBeUndefined();

    // The same stream can come back.
    alice.session.join('one');
    await alice.waitFor((e) => e.type === 'joined' && e.room === 'one' && e.ack.members.length === 2, 'second JoinAck');
    await presence(bob, 'user_joined', 'alice', 'one');
    expect(bob.of('user_joined', 'one').map((e) => e.notice.userId)).toEqual(['bob', 'alice']);
    expectGapless(bob, 'one');
    await closeAll(alice, bob, carol);
  });

  it('ListRooms reports every room with its member count and last seq', async () => {
    const client = t.client();
    expect(await client.listRooms()).toEqual([]);

    const alice = await t.joined({ userId: 'alice' }, 'beta');
    const bob = await t.joined({ userId: 'bob' }, 'beta');
    const carol = await t.joined({ userId: 'carol' }, 'alpha');
    const carolAgain = await t.joined({ userId: 'carol' }, 'alpha');
    for (const n of [1, 2, 3]) alice.session.send('beta', `m${n}`);
    await message(bob, 'beta', 'm3');

    const betaEpoch = (await alice.joined('beta')).epoch;
    const alphaEpoch = (await carol.joined('alpha')).epoch;
    expect((await carolAgain.joined('alpha')).epoch).toBe(alphaEpoch);
    expect(await client.listRooms()).toEqual([
      // carol is one member on two streams; her second join was not sequenced.
      { room: 'alpha', memberCount: 1, lastSeq: 1, epoch: alphaEpoch },
      // alice and bob joined (1, 2), then three messages (3, 4, 5).
      { room: 'beta', memberCount: 2, lastSeq: 5, epoch: betaEpoch },
    ]);

    alice.session.leave('beta');
    await presence(bob, 'user_left', 'alice', 'beta');
    expect((await client.listRooms()).find((r) => r.room === 'beta')).toEqual({
      room: 'beta',
      memberCount: 1,
      lastSeq: 6,
      epoch: betaEpoch,
    });
    await closeAll(alice, bob, carol, carolAgain);
  });
});
