import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import type { ServerEvent } from '../../gen/chat/v1/chat.js';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import type { Identity } from '../../src/client/ChatSession.js';
import type { Hub } from '../../src/domain/Hub.js';
import type { Session } from '../../src/domain/Session.js';
import type { EventLog } from '../helpers/EventLog.js';
import { RawCall } from '../helpers/slowConsumer.rawCall.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** Small bounds, so a stalled reader passes them fast. History is kept within them, as config.ts requires. */
const QUEUE_EVENTS = 64;
const QUEUE_BYTES = 64 * 1024;
const limits = { queueEvents: QUEUE_EVENTS, queueBytes: QUEUE_BYTES, historyEvents: 16, historyBytes: 16 * 1024, maxJoinHistory: 8 };

/** A few KiB per message, so that HTTP/2 windows (64 KiB) fill within a few dozen. */
const PAYLOAD = 'p'.repeat(3000);

interface QueueWatch {
  session: Session;
  /** The most items and bytes its queue ever held (the queue only grows on push). */
  maxItems: number;
  maxBytes: number;
}

/**
 * Records every session the hub opens and, after every push into its queue, how
 * much the queue holds. Both wrappers call straight through: nothing changes
 * what the server does, the test only gets to see it.
 */
function watchQueues(hub: Hub): QueueWatch[] {
  const watches: QueueWatch[] = [];
  const openSession = hub.openSession.bind(hub);
  hub.openSession = () => {
    const session = openSession();
    const watch: QueueWatch = { session, maxItems: 0, maxBytes: 0 };
    const { queue } = session;
    const push = queue.push.bind(queue);
    queue.push = (item, bytes) => {
      const accepted = push(item, bytes);
      watch.maxItems = Math.max(watch.maxItems, queue.length);
      watch.maxBytes = Math.max(watch.maxBytes, queue.bytes);
      return accepted;
    };
    watches.push(watch);
    return session;
  };
  return watches;
}

const joinedBy = (userId: string) => (e: ChatEvent) => e.type === 'user_joined' && e.notice.userId === userId;
const leftBy = (userId: string) => (e: ChatEvent) => e.type === 'user_left' && e.notice.userId === userId;

/** The seq of a raw room event, or 0. */
function rawSeq({ event }: ServerEvent): number {
  if (event?.$case === 'broadcast') return event.value.seq;
  if (event?.$case === 'notice') return event.value.seq;
  return 0;
}

describe('a member that stops reading', () => {
  let t: TestServer;
  let watches: QueueWatch[];
  let cleanups: Array<() => void>;

  beforeEach(async () => {
    cleanups = [];
    t = await TestServer.start({ limits });
    watches = watchQueues(t.hub);
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

  /** A member that joins `rooms` on a connection of its own and then reads nothing. */
  async function stalledMember(userId: string, rooms: string[], watchers: EventLog[]): Promise<{ call: RawCall; watch: QueueWatch }> {
    const call = new RawCall(t.address);
    cleanups.push(() => call.close());
    for (const room of rooms) call.send({ message: { $case: 'join', value: { userId, room } } });
    for (const watcher of watchers) await watcher.waitFor(joinedBy(userId), `${userId} joining`);
    const watch = watches.find((w) => w.session.userId === userId);
    if (watch === undefined) throw new Error(`no session for ${userId}`);
    return { call, watch };
  }

  /** Each sender sends `perSender` messages; resolves once every reader has every message sent so far. */
  async function batch(room: string, senders: EventLog[], readers: EventLog[], perSender: number): Promise<void> {
    for (const sender of senders) for (let i = 0; i < perSender; i++) sender.session.send(room, PAYLOAD);
    const total = readers[0]!.of('message', room).length + senders.length * perSender;
    for (const reader of readers) {
      await reader.waitForCount((e) => e.type === 'message' && e.room === room, total, `messages in #${room}`);
    }
  }

  it('slow member is cut off with RESOURCE_EXHAUSTED (SLOW_CONSUMER) without delaying the others', async () => {
    const alice = await joined({ userId: 'alice' }, 'busy');
    const bob = await joined({ userId: 'bob' }, 'busy');
    const { call: sloth, watch } = await stalledMember('sloth', ['busy'], [alice, bob]);

    // 160 messages of 3 KB, in batches of 8: each batch (24 KB) fits the fast
    // members' queues, while sloth, who reads nothing, falls further behind.
    const started = Date.now();
    for (let i = 0; i < 20; i++) await batch('busy', [alice, bob], [alice, bob], 4);
    const floodMs = Date.now() - started;

    // Sloth was cut off during the flood; the senders went on all the same.
    await alice.waitFor(leftBy('sloth'), 'sloth leaving');
    await bob.waitFor(leftBy('sloth'), 'sloth leaving');
    const left = alice.events.find(leftBy('sloth'));
    const lastMessage = alice.of('message', 'busy').at(-1)!;
    expect(left?.type === 'user_left' && left.notice.seq).toBeLessThan(lastMessage.message.seq);
    expect(floodMs).toBeLessThan(5000);
    expect(sloth.events).toEqual([]);

    // The fast members got every message, in one order, with no gaps, and no errors.
    for (const log of [alice, bob]) {
      expect(log.of('message', 'busy')).toHaveLength(160);
      expect(log.of('error')).toEqual([]);
      const seqs = log.events.filter((e) => e.type === 'message' || e.type === 'user_left').map((e) =>
        e.type === 'message' ? e.message.seq : e.type === 'user_left' ? e.notice.seq : 0,
      );
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      expect(log.end).toBeUndefined();
    }
    expect(bob.of('message', 'busy').map((e) => e.message.seq)).toEqual(alice.of('message', 'busy').map((e) => e.message.seq));

    // The server's memory for sloth stayed bounded, and it is freed.
    expect(watch.maxItems).toBeLessThanOrEqual(QUEUE_EVENTS);
    expect(watch.maxBytes).toBeLessThanOrEqual(QUEUE_BYTES);
    expect(watch.maxBytes).toBeGreaterThan(QUEUE_BYTES / 2); // it did fill up before the cut
    expect(watch.session.queue.closed).toBe(true);
    expect(watch.session.queue.length).toBe(0);
    expect(watch.session.queue.bytes).toBe(0);
    await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: 1000, what: 'sloth’s session to be freed' });
    expect((await t.client().listRooms()).find((r) => r.room === 'busy')?.memberCount).toBe(2);
    for (const w of watches) {
      expect(w.maxItems).toBeLessThanOrEqual(QUEUE_EVENTS);
      expect(w.maxBytes).toBeLessThanOrEqual(QUEUE_BYTES);
    }

    // When sloth reads again it gets what was written before the cut, in order
    // and without gaps (nothing dropped while the stream was open), then the status.
    sloth.read();
    const status = await sloth.waitStatus();
    expect(status.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('SLOW_CONSUMER');
    const [ack, ...rest] = sloth.events;
    expect(ack?.event?.$case).toBe('joined');
    const lastSeq = ack?.event?.$case === 'joined' ? ack.event.value.lastSeq : -1;
    const seqs = rest.map(rawSeq);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(seqs.map((_, i) => lastSeq + 1 + i));
    expect(seqs.at(-1)).toBeLessThan(lastMessage.message.seq);
  });

  it('a slow member is cut off from every room it is in, and each room sees it leave', async () => {
    const alice = await joined({ userId: 'alice' }, 'busy');
    const dave = await joined({ userId: 'dave' }, 'quiet');
    const { watch } = await stalledMember('sloth', ['busy', 'quiet'], [alice, dave]);
    expect(watch.session.rooms.size).toBe(2);

    for (let i = 0; i < 30 && !alice.events.some(leftBy('sloth')); i++) await batch('busy', [alice], [alice], 8);

    await alice.waitFor(leftBy('sloth'), 'sloth leaving #busy');
    await dave.waitFor(leftBy('sloth'), 'sloth leaving #quiet');
    await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: 1000, what: 'sloth’s session to be freed' });
    const rooms = await t.client().listRooms();
    expect(rooms.find((r) => r.room === 'busy')?.memberCount).toBe(1);
    expect(rooms.find((r) => r.room === 'quiet')?.memberCount).toBe(1);
    expect(watch.maxItems).toBeLessThanOrEqual(QUEUE_EVENTS);
    expect(watch.maxBytes).toBeLessThanOrEqual(QUEUE_BYTES);
    // Dave, in the quiet room, was never troubled.
    expect(dave.end).toBeUndefined();
    expect(dave.of('error')).toEqual([]);
  });

  it('a member that pauses within the bounds is not cut off and loses nothing', async () => {
    const alice = await joined({ userId: 'alice' }, 'busy');
    const { call: pauser, watch } = await stalledMember('pauser', ['busy'], [alice]);

    // Send until the server holds a backlog for the pauser (its HTTP/2 windows
    // are full), but well within the bounds.
    let sent = 0;
    while (watch.session.queue.length < 8) {
      await batch('busy', [alice], [alice], 2);
      sent += 2;
      expect(sent).toBeLessThan(200);
    }
    expect(watch.session.queue.bytes).toBeLessThan(QUEUE_BYTES / 2);
    expect(pauser.events).toEqual([]);

    pauser.read();
    await waitFor(() => pauser.events.filter((e) => e.event?.$case === 'broadcast').length === sent, {
      what: `${sent} messages for the pauser (have ${pauser.events.filter((e) => e.event?.$case === 'broadcast').length})`,
    });
    expect(pauser.status).toBeUndefined();
    expect(alice.events.some(leftBy('pauser'))).toBe(false);
    const seqs = pauser.events.slice(1).map(rawSeq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(t.hub.sessionCount).toBe(2);
  });
});
