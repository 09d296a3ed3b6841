import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import type { ServerEvent } from '../../gen/chat/v1/chat.js';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import type { Identity } from '../../src/client/ChatSession.js';
import type { Limits } from '../../src/domain/limits.js';
import type { Session } from '../../src/domain/Session.js';
import type { EventLog } from '../helpers/EventLog.js';
import { Http2Connection, OriginalChannel } from '../helpers/OriginalChannel.js';
import { RawCall } from '../helpers/slowConsumer.rawCall.js';
import { killTree } from '../helpers/spawnProcess.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Small marks and short times, so that a member that stops reading is behind
 * within a few messages, given up on quickly and cut off within seconds.
 * History is kept within the bound, as config.ts requires.
 */
const GRACE_MS = 200;
const DEADLINE_MS = 4000;
const limits: Partial<Limits> = {
  queueHighWaterBytes: 32 * 1024,
  queueLowWaterBytes: 8 * 1024,
  stallGraceMs: GRACE_MS,
  writeDeadlineMs: DEADLINE_MS,
  historyEvents: 16,
  historyBytes: 16 * 1024,
  maxJoinHistory: 8,
};

/** A few KiB per message, so that HTTP/2 windows (64 KiB) fill within a few dozen. */
const PAYLOAD = 'p'.repeat(3000);

const joinedBy = (userId: string) => (e: ChatEvent) => e.type === 'user_joined' && e.notice.userId === userId;
const leftBy = (userId: string) => (e: ChatEvent) => e.type === 'user_left' && e.notice.userId === userId;

/** The seq of a raw room event, or 0. */
function rawSeq({ event }: ServerEvent): number {
  if (event?.$case === 'broadcast') return event.value.seq;
  if (event?.$case === 'notice') return event.value.seq;
  return 0;
}

/** The seqs of a log's room events, in arrival order: they must rise by exactly one. */
function roomSeqs(log: EventLog): number[] {
  return log.events.flatMap((e) => (e.type === 'message' ? [e.message.seq] : e.type === 'user_joined' || e.type === 'user_left' ? [e.notice.seq] : []));
}

describe('a member that stops reading', () => {
  let t: TestServer;
  let cleanups: Array<() => void>;

  async function start(overrides: Partial<Limits> = {}): Promise<void> {
    t = await TestServer.start({ limits: { ...limits, ...overrides } });
  }
  beforeEach(() => {
    cleanups = [];
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) cleanup();
    await t.stop();
  });

  /** t.joined, plus a cancel of the stream after the test, before t.stop() checks for leaks. */
  async function joined(identity: Identity, room: string): Promise<EventLog> {
    const log = t.open(identity);
    cleanups.push(() => log.session.cancel());
    log.session.join(room);
    await log.joined(room);
    return log;
  }

  const sessionOf = (userId: string): Session => {
    const session = [...(t.hub as unknown as { sessions: Set<Session> }).sessions].find((s) => s.userId === userId);
    if (session === undefined) throw new Error(`no session for ${userId}`);
    return session;
  };

  /** A member that joins `rooms` on a connection of its own and then reads nothing. */
  async function stalledMember(userId: string, rooms: string[], watchers: EventLog[]): Promise<{ call: RawCall; session: Session }> {
    const call = new RawCall(t.address);
    cleanups.push(() => call.close());
    for (const room of rooms) call.send({ message: { $case: 'join', value: { userId, room } } });
    for (const watcher of watchers) await watcher.waitFor(joinedBy(userId), `${userId} joining`);
    return { call, session: sessionOf(userId) };
  }

  /** Each sender sends `perSender` messages; resolves once every reader has every message sent so far. */
  async function batch(room: string, senders: EventLog[], readers: EventLog[], perSender: number): Promise<void> {
    for (const sender of senders) for (let i = 0; i < perSender; i++) sender.session.send(room, PAYLOAD);
    const total = readers[0]!.of('message', room).length + senders.length * perSender;
    for (const reader of readers) {
      await reader.waitForCount((e) => e.type === 'message' && e.room === room, total, `messages in #${room}`);
    }
  }

  it('is given up on after the stall grace, so the room goes on, and cut off with RESOURCE_EXHAUSTED (SLOW_CONSUMER) after the write deadline', async () => {
    await start();
    const alice = await joined({ userId: 'alice' }, 'busy');
    const bob = await joined({ userId: 'bob' }, 'busy');
    const { call: sloth, session } = await stalledMember('sloth', ['busy'], [alice, bob]);

    // 160 messages of 3 KB: sloth, who reads nothing, falls behind and holds
    // the room back, until the grace is over and the room goes on without it.
    for (let i = 0; i < 20; i++) await batch('busy', [alice, bob], [alice, bob], 4);
    expect(session.stalled).toBe(true);
    // The whole flood went through before the deadline: sloth is still there.
    expect(session.queue.closed).toBe(false);
    expect(alice.events.some(leftBy('sloth'))).toBe(false);

    await alice.waitFor(leftBy('sloth'), 'sloth leaving', DEADLINE_MS * 3);
    await bob.waitFor(leftBy('sloth'), 'sloth leaving');
    expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 1, queue_bound: 0, budget: 0 });
    expect(t.hub.backpressure.roomPauses).toBeGreaterThan(0);
    expect(sloth.events).toEqual([]);

    // The others got every message, in one order, with no gaps, and no errors.
    for (const log of [alice, bob]) {
      expect(log.of('message', 'busy')).toHaveLength(160);
      expect(log.of('error')).toEqual([]);
      const seqs = roomSeqs(log);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      expect(log.end).toBeUndefined();
    }
    expect(bob.of('message', 'busy').map((e) => e.message.seq)).toEqual(alice.of('message', 'busy').map((e) => e.message.seq));

    // Sloth is freed.
    expect(session.queue.closed).toBe(true);
    expect(session.queue.bytes).toBe(0);
    await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: 1000, what: 'sloth’s session to be freed' });
    expect((await t.client().listRooms()).find((r) => r.room === 'busy')?.memberCount).toBe(2);

    // When sloth reads again it gets what was written before the cut, in order
    // and without gaps (nothing dropped while the stream was open), then the status.
    sloth.read();
    const status = await sloth.waitStatus();
    expect(status.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('SLOW_CONSUMER');
    expect(status.details).toContain(`no write progress for ${DEADLINE_MS} ms`);
    const [ack, ...rest] = sloth.events;
    expect(ack?.event?.$case).toBe('joined');
    const lastSeq = ack?.event?.$case === 'joined' ? ack.event.value.lastSeq : -1;
    const seqs = rest.map(rawSeq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(seqs.map((_, i) => lastSeq + 1 + i));
  });

  it('is cut off at once, before the deadline, when its queue passes CHAT_QUEUE_BYTES', async () => {
    await start({ queueBytes: 128 * 1024, writeDeadlineMs: 600_000 });
    const alice = await joined({ userId: 'alice' }, 'busy');
    const { call: sloth, session } = await stalledMember('sloth', ['busy'], [alice]);
    for (let i = 0; i < 60 && !session.queue.closed; i++) await batch('busy', [alice], [alice], 4);
    await alice.waitFor(leftBy('sloth'), 'sloth leaving');
    expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 0, queue_bound: 1, budget: 0 });
    sloth.read();
    const status = await sloth.waitStatus();
    expect(status.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('bytes queued for this stream');
  });

  it('is cut off from every room it is in, and each room sees it leave', async () => {
    await start();
    const alice = await joined({ userId: 'alice' }, 'busy');
    const dave = await joined({ userId: 'dave' }, 'quiet');
    const { session } = await stalledMember('sloth', ['busy', 'quiet'], [alice, dave]);
    expect(session.rooms.size).toBe(2);

    for (let i = 0; i < 10; i++) await batch('busy', [alice], [alice], 8);
    await alice.waitFor(leftBy('sloth'), 'sloth leaving #busy', DEADLINE_MS * 3);
    await dave.waitFor(leftBy('sloth'), 'sloth leaving #quiet');
    await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: 1000, what: 'sloth’s session to be freed' });
    const rooms = await t.client().listRooms();
    expect(rooms.find((r) => r.room === 'busy')?.memberCount).toBe(1);
    expect(rooms.find((r) => r.room === 'quiet')?.memberCount).toBe(1);
    // Dave, in the quiet room, was never troubled.
    expect(dave.end).toBeUndefined();
    expect(dave.of('error')).toEqual([]);
  });

  it('a member that reads, but slower than the room, stops holding it back after the grace, and is cut off once its queue passes its bound', async () => {
    await start({ queueBytes: 512 * 1024, writeDeadlineMs: 600_000, ratePerSecond: 0 });
    const alice = await joined({ userId: 'alice' }, 'busy');
    const bob = await joined({ userId: 'bob' }, 'busy');
    // An original-proto member with a small HTTP/2 window that reads a little, now and then.
    const connection = await Http2Connection.open(t.address, 16 * 1024);
    cleanups.push(() => connection.close());
    const snail = new OriginalChannel(connection);
    snail.join('snail', 'busy');
    await alice.waitFor(joinedBy('snail'), 'snail joining');
    const sips = setInterval(() => {
      snail.resume();
      setImmediate(() => snail.pause());
    }, 50);
    cleanups.push(() => clearInterval(sips));

    // 2.4 MB for the room: far more than the snail takes while the flood lasts.
    for (let batch = 0; batch < 200; batch++) await batch4(alice, bob, 4);
    await alice.waitFor(leftBy('snail'), 'the snail to be cut off', 30_000);
    expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 0, queue_bound: 1, budget: 0 });
    expect(snail.counts.messages).toBeLessThan(800);
    expect(snail.counts.messages).toBeGreaterThan(0); // it did read: it was slow, not stopped
    for (const log of [alice, bob]) {
      expect(log.of('message', 'busy')).toHaveLength(800);
      const seqs = roomSeqs(log);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    }
    clearInterval(sips);
    snail.resume();
    await waitFor(() => snail.status, { what: 'the snail’s status' });
    expect(snail.status!.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(snail.counts.seqGaps).toBe(0);
  });

  /** Alice sends `perSender` messages of 3 KB; resolves once both have them. */
  async function batch4(alice: EventLog, bob: EventLog, perSender: number): Promise<void> {
    await batch('busy', [alice], [alice, bob], perSender);
  }

  it('is not cut off when it reads again within the deadline, and loses nothing', async () => {
    await start({ writeDeadlineMs: 600_000 });
    const alice = await joined({ userId: 'alice' }, 'busy');
    const { call: pauser, session } = await stalledMember('pauser', ['busy'], [alice]);

    // Send until the server holds a backlog past the high-water mark for the pauser.
    let sent = 0;
    while (!session.behind) {
      await batch('busy', [alice], [alice], 2);
      sent += 2;
      expect(sent).toBeLessThan(200);
    }
    expect(pauser.events).toEqual([]);

    pauser.read();
    await waitFor(() => pauser.events.filter((e) => e.event?.$case === 'broadcast').length === sent, {
      what: `${sent} messages for the pauser (have ${pauser.events.filter((e) => e.event?.$case === 'broadcast').length})`,
    });
    expect(pauser.status).toBeUndefined();
    expect(alice.events.some(leftBy('pauser'))).toBe(false);
    const seqs = pauser.events.slice(1).map(rawSeq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    await waitFor(() => !session.behind, { what: 'the pauser to catch up' });
    expect(t.hub.sessionCount).toBe(2);
    expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 0, queue_bound: 0, budget: 0 });
  });

  it('a member process frozen with SIGSTOP is cut off once the write deadline has passed, and every other member gets everything', async () => {
    await start({ ratePerSecond: 0 });
    const alice = await joined({ userId: 'alice' }, 'busy');
    const bob = await joined({ userId: 'bob' }, 'busy');
    // A real client process of the original proto, which we then freeze.
    const member = spawn(process.execPath, ['test/fixtures/originalMember.mjs', t.address, 'frozen', 'busy'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Array<Record<string, unknown>> = [];
    member.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    cleanups.push(() => killTree(member.pid!));
    await waitFor(() => lines.some((l) => l.event === 'joined'), { timeoutMs: 10_000, what: 'the member process to join' });
    await alice.waitFor(joinedBy('frozen'), 'frozen joining');

    member.kill('SIGSTOP');
    const frozenAt = Date.now();
    // 160 messages of 3 KB: far more than its HTTP/2 windows take. The room waits
    // for it only through the stall grace, then goes on without it.
    let index = 0;
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 4; i++) alice.session.send('busy', `${index++}:${PAYLOAD}`);
      await alice.waitForCount((e) => e.type === 'message', index, 'alice’s own copies');
    }
    await alice.waitFor(leftBy('frozen'), 'the frozen member to be cut off', DEADLINE_MS + 5000);
    const cutOffAfter = Date.now() - frozenAt;
    expect(cutOffAfter).toBeGreaterThanOrEqual(DEADLINE_MS);
    await bob.waitForCount((e) => e.type === 'message', index, 'every message for bob');
    for (const log of [alice, bob]) {
      const seqs = roomSeqs(log);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    }
    expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 1, queue_bound: 0, budget: 0 });

    // Thawed, it reads what was written before the cut, in order, then RESOURCE_EXHAUSTED.
    member.kill('SIGCONT');
    const end = await waitFor(() => lines.find((l) => l.event === 'status'), { timeoutMs: 10_000, what: 'the member’s status' });
    expect(end.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(String(end.details)).toContain('SLOW_CONSUMER');
    expect(end.outOfOrder).toBe(0);
    expect(end.messages as number).toBeLessThan(index);
  });
});
