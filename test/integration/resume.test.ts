import { describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import { type JoinAck, ServerNotice_Type } from '../../gen/chat/v1/chat.js';
import { type ChatEvent, seqOf } from '../../src/client/ChatEvent.js';
import type { Limits } from '../../src/domain/limits.js';
import type { EventLog } from '../helpers/EventLog.js';
import { serverPerTest, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * History and resume (PROTOCOL.md, "History and resume"): what a JoinAck carries,
 * what a join with after_seq replays, how a lost stretch is reported
 * (MISSED_EVENTS), and how an empty room keeps, then loses, its sequence.
 */

const startServer = serverPerTest();

/** Starts a server with these limits, stopped after the test (which fails if a session leaked). */
const start = (limits: Partial<Limits> = {}) => startServer({ limits });

const ROOM = 'lobby';

/** The room events (messages, joins, leaves) a log received, in arrival order. */
function sequenced(log: EventLog, room = ROOM): ChatEvent[] {
  return log.events.filter((e) => e.room === room && seqOf(e) > 0);
}

function seqs(log: EventLog, room = ROOM): number[] {
  return sequenced(log, room).map(seqOf);
}

/** The newest seq a log has seen in the room. */
function lastSeen(log: EventLog, room = ROOM): number {
  return Math.max(0, ...seqs(log, room));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Sends messages one after another and waits until the sender holds its own copy of each. */
async function sendAll(log: EventLog, contents: string[], room = ROOM): Promise<void> {
  const ids = contents.map((content) => log.session.send(room, content));
  await log.waitForCount((e) => e.type === 'message' && ids.includes(e.message.clientMsgId), ids.length, 'own copies');
}

/** Cancels a stream (a lost connection) and waits until others in the room have seen the user leave. */
async function dropConnection(log: EventLog, witness: EventLog): Promise<void> {
  const { userId } = log.session.identity;
  const leftBefore = witness.of('user_left', ROOM).filter((e) => e.notice.userId === userId).length;
  log.session.cancel();
  await log.waitEnd(); // the client sees an AbortError, not a status
  await witness.waitForCount(
    (e) => e.type === 'user_left' && e.room === ROOM && e.notice.userId === userId,
    leftBefore + 1,
    `${userId} leaving`,
  );
}

/** Opens a new stream that joins with after_seq/epoch and waits for its JoinAck. */
async function resume(t: TestServer, userId: string, afterSeq: number, epoch: string): Promise<{ log: EventLog; ack: JoinAck }> {
  const log = t.open({ userId });
  log.session.join(ROOM, { afterSeq, epoch });
  return { log, ack: await log.joined(ROOM) };
}

/**
 * Waits for the joiner's own join notice, the room's next event after its JoinAck
 * (a replay may hold an older join notice of the same user, and room events may
 * reach a batching client a few milliseconds after its JoinAck).
 */
function ownJoin(log: EventLog, ack: JoinAck) {
  return log.waitFor((e) => e.type === 'user_joined' && e.notice.seq === ack.lastSeq + 1, 'own join notice');
}

function missedNotice(log: EventLog) {
  return log.of('notice', ROOM).find((e) => e.notice.code === 'MISSED_EVENTS');
}

describe('JoinAck history', () => {
  it('carries the last N messages, oldest first, and never more than maxJoinHistory', async () => {
    const t = await start({ maxJoinHistory: 5 });
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const sent = range(1, 8).map((i) => `message ${i}`);
    await sendAll(alice, sent);
    // A presence event between messages: history counts messages only.
    const visitor = await t.joined({ userId: 'visitor' }, ROOM);
    visitor.session.leave(ROOM);
    await alice.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'visitor', 'the visitor leaving');

    const historyOf = async (userId: string, history: number) => {
      const log = t.open({ userId });
      log.session.join(ROOM, { history });
      return (await log.joined(ROOM)).history;
    };

    const three = await historyOf('bob', 3);
    expect(three.map((m) => m.content)).toEqual(sent.slice(-3));
    const ownCopies = alice.of('message', ROOM).map((e) => e.message);
    expect(three).toEqual(ownCopies.slice(-3)); // seq, sender, timestamp and client_msg_id as broadcast

    const capped = await historyOf('carol', 100);
    expect(capped.map((m) => m.content)).toEqual(sent.slice(-5));
    expect(capped.map((m) => m.seq)).toEqual([...capped.map((m) => m.seq)].sort((a, b) => a - b));

    expect(await historyOf('dave', 0)).toEqual([]);
  });
});

describe('resume within history', () => {
  it('a reconnect with after_seq N and the epoch recovers exactly N+1..last_seq, once and in order, then goes live', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const bob1 = await t.joined({ userId: 'bob' }, ROOM);
    const { epoch } = await bob1.joined(ROOM);
    await sendAll(alice, ['before 1', 'before 2', 'before 3']);
    await bob1.waitForCount((e) => e.type === 'message', 3, 'messages');
    const seen = lastSeen(bob1);

    await dropConnection(bob1, alice);
    await sendAll(alice, ['while away 1', 'while away 2', 'while away 3']);
    const newest = lastSeen(alice);

    const { log: bob2, ack } = await resume(t, 'bob', seen, epoch);
    expect(ack).toMatchObject({ recovered: true, epoch, lastSeq: newest });
    // Own join notice comes after the replay; then a live message.
    await ownJoin(bob2, ack);
    alice.session.send(ROOM, 'live');
    await bob2.waitFor((e) => e.type === 'message' && e.message.content === 'live', 'the live message');
    await alice.waitFor((e) => e.type === 'message' && e.message.content === 'live', 'the live message');

    expect(bob2.events[0]?.type).toBe('joined');
    expect(seqs(bob2)).toEqual(range(seen + 1, newest + 2));
    expect(bob2.contents(ROOM)).toEqual(['while away 1', 'while away 2', 'while away 3', 'live']);
    expect(missedNotice(bob2)).toBeUndefined();
    // What bob sees now is exactly what alice saw after seq N.
    expect(sequenced(bob2)).toEqual(sequenced(alice).filter((e) => seqOf(e) > seen));
  });

  it('a resume on a second stream while the first is still open replays without announcing the user again', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const bob1 = await t.joined({ userId: 'bob' }, ROOM);
    const { epoch } = await bob1.joined(ROOM);
    await sendAll(alice, ['one']);
    await bob1.waitFor((e) => e.type === 'message', 'the first message');
    const seen = lastSeen(bob1);
    await sendAll(alice, ['two', 'three']);

    const { log: bob2, ack } = await resume(t, 'bob', seen, epoch);
    expect(ack.recovered).toBe(true);
    expect(ack.members.filter((m) => m.userId === 'bob')).toHaveLength(1);
    alice.session.send(ROOM, 'live');
    await bob2.waitFor((e) => e.type === 'message' && e.message.content === 'live', 'the live message');
    await bob1.waitFor((e) => e.type === 'message' && e.message.content === 'live', 'the live message');

    expect(bob2.contents(ROOM)).toEqual(['two', 'three', 'live']);
    expect(seqs(bob2)).toEqual(range(seen + 1, ack.lastSeq + 1));
    expect(bob2.of('user_joined')).toEqual([]);
    expect(alice.of('user_joined').filter((e) => e.notice.userId === 'bob')).toHaveLength(1);
  });
});

describe('resume beyond history', () => {
  it('with historyEvents 10, recovered is false and MISSED_EVENTS with the missed count precedes the replay of what is held', async () => {
    const t = await start({ historyEvents: 10 });
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const bob1 = await t.joined({ userId: 'bob' }, ROOM);
    const { epoch } = await bob1.joined(ROOM);
    const seen = lastSeen(bob1); // bob's own join
    await dropConnection(bob1, alice);
    await sendAll(alice, range(1, 20).map((i) => `missed or held ${i}`));
    const newest = lastSeen(alice);
    const oldestHeld = newest - 10 + 1;

    const { log: bob2, ack } = await resume(t, 'bob', seen, epoch);
    expect(ack).toMatchObject({ recovered: false, epoch, lastSeq: newest });
    await ownJoin(bob2, ack);

    const notice = missedNotice(bob2);
    expect(notice?.notice).toMatchObject({
      type: ServerNotice_Type.TYPE_GENERIC,
      code: 'MISSED_EVENTS',
      room: ROOM,
      missedCount: oldestHeld - seen - 1,
    });
    expect(bob2.events.map((e) => (e.type === 'notice' ? e.notice.code : e.type)).slice(0, 2)).toEqual([
      'joined',
      'MISSED_EVENTS',
    ]);
    expect(bob2.events.slice(2).map(seqOf)).toEqual(range(oldestHeld, newest + 1));
    expect(bob2.contents(ROOM)).toEqual(range(11, 20).map((i) => `missed or held ${i}`));
  });

  it('at the edge of history: after_seq just before the oldest held event recovers, one earlier misses exactly 1', async () => {
    const t = await start({ historyEvents: 10 });
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const { epoch } = await alice.joined(ROOM);
    await sendAll(alice, range(1, 11).map((i) => `m${i}`));
    const newest = lastSeen(alice); // 12: her join, then 11 messages
    const oldestHeld = newest - 10 + 1;

    // Alice's further streams do not announce her, so the room's history stays as it is.
    const edge = await resume(t, 'alice', oldestHeld - 1, epoch);
    expect(edge.ack).toMatchObject({ recovered: true, lastSeq: newest });
    const beyond = await resume(t, 'alice', oldestHeld - 2, epoch);
    expect(beyond.ack).toMatchObject({ recovered: false, lastSeq: newest });

    for (const { log } of [edge, beyond]) {
      await log.waitFor((e) => seqOf(e) === newest, 'the replay up to last_seq');
      expect(seqs(log)).toEqual(range(oldestHeld, newest));
    }
    expect(missedNotice(edge.log)).toBeUndefined();
    expect(missedNotice(beyond.log)?.notice.missedCount).toBe(1);
    expect(beyond.log.events[1]?.type).toBe('notice');
  });

  it('the historyBytes bound evicts too: a resume past what the bytes hold reports the missed count', async () => {
    const historyBytes = 2048;
    const t = await start({ historyBytes });
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const bob1 = await t.joined({ userId: 'bob' }, ROOM);
    const { epoch } = await bob1.joined(ROOM);
    const seen = lastSeen(bob1);
    await dropConnection(bob1, alice);
    const sent = range(1, 10).map((i) => `${i}:`.padEnd(400, '.'));
    await sendAll(alice, sent);
    const newest = lastSeen(alice);

    const bob2 = t.open({ userId: 'bob' });
    bob2.session.join(ROOM, { afterSeq: seen, epoch, history: 100 });
    const ack = await bob2.joined(ROOM);
    expect(ack.recovered).toBe(false);
    await ownJoin(bob2, ack);

    const replayed = sequenced(bob2).filter((e) => seqOf(e) <= newest);
    const held = replayed.map((e) => (e.type === 'message' ? e.message.content : ''));
    // Far fewer than the 10 messages fit in 2 KiB, but at least the newest does.
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(Math.floor(historyBytes / 400));
    expect(held).toEqual(sent.slice(-held.length));
    expect(replayed.map(seqOf)).toEqual(range(newest - held.length + 1, newest));
    expect(missedNotice(bob2)?.notice.missedCount).toBe(newest - held.length - seen);
    // The JoinAck's history comes from the same bounded store.
    expect(ack.history.map((m) => m.content)).toEqual(held);
  });

  it('a resume with a wrong epoch is not recovered: MISSED_EVENTS with missed_count 0 comes first', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, ROOM);
    const bob1 = await t.joined({ userId: 'bob' }, ROOM);
    const { epoch } = await bob1.joined(ROOM);
    await sendAll(alice, ['a', 'b']);
    await bob1.waitForCount((e) => e.type === 'message', 2, 'messages');
    const seen = lastSeen(bob1);
    await dropConnection(bob1, alice);
    await sendAll(alice, ['c']);
    const newest = lastSeen(alice);

    const { log: bob2, ack } = await resume(t, 'bob', seen, `not-${epoch}`);
    expect(ack).toMatchObject({ recovered: false, epoch, lastSeq: newest });
    await ownJoin(bob2, ack);

    expect(bob2.events[1]?.type).toBe('notice');
    expect(missedNotice(bob2)?.notice).toMatchObject({
      type: ServerNotice_Type.TYPE_GENERIC,
      code: 'MISSED_EVENTS',
      room: ROOM,
      missedCount: 0,
    });
    // Whatever is replayed is a gapless run up to last_seq, then the own join.
    const got = seqs(bob2);
    expect(got.at(-1)).toBe(newest + 1);
    expect(got).toEqual(range(got[0] ?? newest + 1, newest + 1));
  });
});

describe('an empty room', () => {
  it('keeps its seq and epoch for the grace period, so the last member can leave, rejoin and resume', async () => {
    const t = await start({ roomGraceMs: 60_000 });
    const alice1 = await t.joined({ userId: 'alice' }, ROOM);
    const { epoch } = await alice1.joined(ROOM);
    await sendAll(alice1, ['one', 'two', 'three']);
    const seen = lastSeen(alice1);
    alice1.session.leave(ROOM);
    await alice1.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'alice', 'own leave');
    alice1.session.close();
    expect((await alice1.waitEnd()).code).toBe(Status.OK);

    const rooms = await t.client().listRooms();
    expect(rooms).toEqual([{ room: ROOM, memberCount: 0, lastSeq: seen + 1, epoch }]);

    const { log: alice2, ack } = await resume(t, 'alice', seen, epoch);
    expect(ack).toMatchObject({ recovered: true, epoch, lastSeq: seen + 1 });
    await ownJoin(alice2, ack);
    expect(seqs(alice2)).toEqual([seen + 1, seen + 2]); // her leave, then her new join
    expect(missedNotice(alice2)).toBeUndefined();
    await sendAll(alice2, ['four']);
    expect(alice2.of('message', ROOM)[0]?.message.seq).toBe(seen + 3);
  });

  it('is freed after a short roomGraceMs: ListRooms drops it and a later join starts a new epoch at seq 1', async () => {
    const t = await start({ roomGraceMs: 50 });
    const alice1 = await t.joined({ userId: 'alice' }, ROOM);
    const { epoch } = await alice1.joined(ROOM);
    await sendAll(alice1, ['one', 'two']);
    const seen = lastSeen(alice1);
    alice1.session.close();
    expect((await alice1.waitEnd()).code).toBe(Status.OK);

    const client = t.client();
    await waitFor(async () => !(await client.listRooms()).some((r) => r.room === ROOM), {
      timeoutMs: 3000,
      what: `#${ROOM} to be freed`,
    });

    // A resume against the freed room's epoch cannot recover anything.
    const { log: alice2, ack } = await resume(t, 'alice', seen, epoch);
    expect(ack.epoch).not.toBe('');
    expect(ack.epoch).not.toBe(epoch);
    expect(ack).toMatchObject({ recovered: false, lastSeq: 0 });
    const joined = await ownJoin(alice2, ack);
    expect(seqOf(joined)).toBe(1);
    expect(missedNotice(alice2)?.notice.missedCount).toBe(0);
    await sendAll(alice2, ['fresh start']);
    expect(seqs(alice2)).toEqual([1, 2]);
    expect(await client.listRooms()).toEqual([{ room: ROOM, memberCount: 1, lastSeq: 2, epoch: ack.epoch }]);
  });
});
