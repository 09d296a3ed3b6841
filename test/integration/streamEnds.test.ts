import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createChannel, createClient, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { ChatClient } from '../../src/client/ChatClient.js';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import type { Identity } from '../../src/client/ChatSession.js';
import type { EventLog } from '../helpers/EventLog.js';
import { RawCall } from '../helpers/slowConsumer.rawCall.js';
import { TcpProxy } from '../helpers/TcpProxy.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** How long "promptly" is: far below any keepalive or grace period in play. */
const PROMPTLY_MS = 1500;

const leftBy = (userId: string, room?: string) => (e: ChatEvent) =>
  e.type === 'user_left' && e.notice.userId === userId && (room === undefined || e.room === room);
const joinedBy = (userId: string) => (e: ChatEvent) => e.type === 'user_joined' && e.notice.userId === userId;

/** The type and code of a log's last event, when it is a notice. */
function lastNotice(log: EventLog): { type: string; code: string } | undefined {
  const last = log.events.at(-1);
  return last !== undefined && 'notice' in last ? { type: last.type, code: last.notice.code } : undefined;
}

describe('how a stream ends', () => {
  let t: TestServer;
  /** Resources a test opened outside TestServer; closed before t.stop() checks for leaks. */
  let cleanups: Array<() => void | Promise<void>>;

  beforeEach(async () => {
    cleanups = [];
    t = await TestServer.start();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await t.stop();
  });

  /**
   * t.open / t.joined, plus a cancel of the stream after the test, so that every
   * stream a test opened is ended by the test itself before t.stop() checks for leaks.
   */
  function open(identity: Identity, client?: ChatClient): EventLog {
    const log = t.open(identity, client);
    cleanups.push(() => log.session.cancel());
    return log;
  }
  async function joined(identity: Identity, room: string, client?: ChatClient): Promise<EventLog> {
    const log = open(identity, client);
    log.session.join(room);
    await log.joined(room);
    return log;
  }

  function rawCall(): RawCall {
    const call = new RawCall(t.address);
    cleanups.push(() => call.close());
    return call;
  }

  async function memberCount(room: string): Promise<number> {
    const rooms = await t.client().listRooms();
    return rooms.find((r) => r.room === room)?.memberCount ?? 0;
  }

  let probes = 0;
  /** A new client can still join, chat and half-close cleanly; members of `room` see it. */
  async function expectStillServing(room = 'lobby', watchers: EventLog[] = []): Promise<void> {
    const userId = `probe${++probes}`;
    const probe = await joined({ userId }, room);
    const id = probe.session.send(room, `${userId} says the server is alive`);
    await probe.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the probe’s own message');
    for (const watcher of watchers) {
      await watcher.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the probe’s message');
      expect(watcher.end).toBeUndefined();
    }
    probe.session.close();
    expect((await probe.waitEnd()).code).toBe(Status.OK);
  }

  describe('cancel and network loss', () => {
    it('a cancelled stream is seen to leave at once and its session is freed', async () => {
      const alice = await joined({ userId: 'alice' }, 'lobby');
      const bob = await joined({ userId: 'bob' }, 'lobby');
      await alice.waitFor(joinedBy('bob'), 'bob joining');
      expect(t.hub.sessionCount).toBe(2);
      expect(await memberCount('lobby')).toBe(2);

      alice.session.cancel();

      const left = await bob.waitFor(leftBy('alice', 'lobby'), 'alice leaving', PROMPTLY_MS);
      expect(left.type === 'user_left' && left.notice.seq).toBeGreaterThan(0);
      await waitFor(() => t.hub.sessionCount === 1, { timeoutMs: PROMPTLY_MS, what: 'the server to free alice’s session' });
      expect(await memberCount('lobby')).toBe(1);
      await alice.waitEnd();
      expect(alice.end?.code).not.toBe(Status.OK);
      // Bob's stream is untouched.
      expect(bob.end).toBeUndefined();
      await expectStillServing('lobby', [bob]);
    });

    /** Bob joins the lobby directly; alice joins through a TCP proxy the test can cut. */
    async function bobAndAliceViaProxy() {
      const proxy = await TcpProxy.start(t.server.port);
      cleanups.push(() => proxy.close());
      const viaProxy = new ChatClient(proxy.address);
      cleanups.push(() => viaProxy.close());
      const bob = await joined({ userId: 'bob' }, 'lobby');
      const alice = await joined({ userId: 'alice' }, 'lobby', viaProxy);
      await bob.waitFor(joinedBy('alice'), 'alice joining');
      return { proxy, bob, alice };
    }

    it('a connection reset without a clean close frees the session and others see the user leave', async () => {
      const { proxy, bob, alice } = await bobAndAliceViaProxy();
      expect(proxy.connectionCount).toBe(1);
      expect(t.hub.sessionCount).toBe(2);

      proxy.resetAll();

      // Promptly: well before any keepalive (30 s by default) could have noticed.
      await bob.waitFor(leftBy('alice', 'lobby'), 'alice leaving', PROMPTLY_MS);
      await waitFor(() => t.hub.sessionCount === 1, { timeoutMs: PROMPTLY_MS, what: 'the server to free alice’s session' });
      expect(await memberCount('lobby')).toBe(1);
      expect((await alice.waitEnd()).code).not.toBe(Status.OK);
      expect(bob.end).toBeUndefined();
      await expectStillServing('lobby', [bob]);
    });

    it('a peer that vanishes without a word is reaped by keepalive', async () => {
      await t.stop();
      t = await TestServer.start({ keepaliveTimeMs: 1000, keepaliveTimeoutMs: 1000 });
      const { proxy, bob, alice } = await bobAndAliceViaProxy();

      const vanished = Date.now();
      proxy.blackholeAll();

      // Within keepaliveTimeMs + keepaliveTimeoutMs (plus scheduling slack).
      await bob.waitFor(leftBy('alice', 'lobby'), 'alice to be reaped', 4000);
      expect(Date.now() - vanished).toBeLessThan(4000);
      await waitFor(() => t.hub.sessionCount === 1, { timeoutMs: PROMPTLY_MS, what: 'the server to free alice’s session' });
      expect(bob.end).toBeUndefined();
    });
  });

  describe('half-close', () => {
    it('a half-closed stream still gets the rest of its events, then OK', async () => {
      const alice = await joined({ userId: 'alice' }, 'lobby');
      const bob = await joined({ userId: 'bob' }, 'lobby');
      await alice.waitFor(joinedBy('bob'), 'bob joining');

      // Everything is sent and the stream half-closed in one go: the answers
      // (alice's own copies) are all still in flight when the server sees the close.
      const ids = Array.from({ length: 20 }, (_, i) => alice.session.send('lobby', `message ${i}`));
      alice.session.close();

      expect((await alice.waitEnd()).code).toBe(Status.OK);
      const own = alice.of('message', 'lobby').map((e) => e.message.clientMsgId);
      expect(own).toEqual(ids);
      const seqs = alice.of('message', 'lobby').map((e) => e.message.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));

      await bob.waitFor(leftBy('alice', 'lobby'), 'alice leaving');
      expect(bob.contents('lobby')).toEqual(ids.map((_, i) => `message ${i}`));
      await waitFor(() => t.hub.sessionCount === 1, { what: 'alice’s session to be freed' });
      expect(await memberCount('lobby')).toBe(1);
    });
  });

  describe('errors that end the stream', () => {
    /** bob and carol in #lobby, watching. */
    async function bystanders(): Promise<[EventLog, EventLog]> {
      const bob = await joined({ userId: 'bob' }, 'lobby');
      const carol = await joined({ userId: 'carol' }, 'lobby');
      await bob.waitFor(joinedBy('carol'), 'carol joining');
      return [bob, carol];
    }

    /** Both bystanders see the offender leave, and only they are left. */
    async function offenderIsGone(offender: string, watchers: EventLog[]): Promise<void> {
      for (const watcher of watchers) await watcher.waitFor(leftBy(offender, 'lobby'), `${offender} leaving`, PROMPTLY_MS);
      await waitFor(() => t.hub.sessionCount === watchers.length, { timeoutMs: PROMPTLY_MS, what: 'the offender’s session to be freed' });
      expect(await memberCount('lobby')).toBe(watchers.length);
    }

    it('an envelope with no message set ends the stream with INVALID_ARGUMENT', async () => {
      const watchers = await bystanders();
      const mallory = await joined({ userId: 'mallory' }, 'lobby');

      mallory.session.envelope({});

      const end = await mallory.waitEnd();
      expect(end.code).toBe(Status.INVALID_ARGUMENT);
      await offenderIsGone('mallory', watchers);
      await expectStillServing('lobby', watchers);
    });

    it('a first join with an empty user_id ends the stream with INVALID_ARGUMENT', async () => {
      const watchers = await bystanders();
      const nobody = open({ userId: '' });

      nobody.session.join('lobby');

      expect((await nobody.waitEnd()).code).toBe(Status.INVALID_ARGUMENT);
      expect(nobody.of('joined')).toEqual([]);
      await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: PROMPTLY_MS, what: 'the session to be freed' });
      expect(await memberCount('lobby')).toBe(2);
      await expectStillServing('lobby', watchers);
    });

    it.each([
      ['a space', 'bad user'],
      ['an escape sequence', 'evil\u001b[2J'],
      ['a newline', 'two\nlines'],
      ['a leading dash', '-flag'],
      ['a slash', 'a/b'],
      ['a right-to-left override', 'alice\u202egnp.exe'],
    ])('a first join whose user_id holds %s ends the stream with INVALID_ARGUMENT', async (_what, userId) => {
      const watchers = await bystanders();
      const bad = open({ userId });

      bad.session.join('lobby');

      expect((await bad.waitEnd()).code).toBe(Status.INVALID_ARGUMENT);
      expect(bad.of('joined')).toEqual([]);
      await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: PROMPTLY_MS, what: 'the session to be freed' });
      for (const watcher of watchers) expect(watcher.events.filter(joinedBy(userId))).toEqual([]);
      await expectStillServing('lobby', watchers);
    });

    it('an envelope over the message size limit ends the stream with RESOURCE_EXHAUSTED', async () => {
      await t.stop();
      t = await TestServer.start({ maxMessageBytes: 1024 });
      const watchers = await bystanders();
      const mallory = await joined({ userId: 'mallory' }, 'lobby');
      // Just under the limit still goes through (content is allowed up to 4 KiB).
      const small = mallory.session.send('lobby', 'x'.repeat(900));
      await mallory.waitFor((e) => e.type === 'message' && e.message.clientMsgId === small, 'the 900-byte message');

      mallory.session.send('lobby', 'y'.repeat(2000));

      expect((await mallory.waitEnd()).code).toBe(Status.RESOURCE_EXHAUSTED);
      await offenderIsGone('mallory', watchers);
      for (const watcher of watchers) expect(watcher.contents('lobby')).toEqual(['x'.repeat(900)]);
      await expectStillServing('lobby', watchers);
    });

    /** Every member's log holds nothing that claims to come from `victim`, but what the victim did itself. */
    function nothingUnderTheName(victim: string, logs: EventLog[], forged: string): void {
      for (const log of logs) {
        expect(log.of('message').filter((e) => e.message.userId === victim)).toEqual([]);
        expect(log.events.filter((e) => e.type === 'message' && e.message.content === forged)).toEqual([]);
      }
    }

    /** A message from carol that every log has seen: whatever came before it has arrived. */
    async function barrier(carol: EventLog, logs: EventLog[]): Promise<void> {
      const id = carol.session.send('lobby', 'barrier');
      for (const log of logs) {
        await log.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the barrier message');
      }
    }

    it('a chat naming another user ends the stream with PERMISSION_DENIED and nothing is delivered as that user', async () => {
      const [bob, carol] = await bystanders();
      const mallory = await joined({ userId: 'mallory' }, 'lobby');
      await bob.waitFor(joinedBy('mallory'), 'mallory joining');

      mallory.session.envelope({
        message: { $case: 'chat', value: { userId: 'bob', room: 'lobby', content: 'bob: I quit', clientMsgId: 'forged' } },
      });

      expect((await mallory.waitEnd()).code).toBe(Status.PERMISSION_DENIED);
      await offenderIsGone('mallory', [bob, carol]);
      await barrier(carol, [bob, carol]);
      nothingUnderTheName('bob', [bob, carol, mallory], 'bob: I quit');
      expect(mallory.events.filter((e) => e.type === 'message')).toEqual([]);
      await expectStillServing('lobby', [bob, carol]);
    });

    it('a leave naming another user ends the stream with PERMISSION_DENIED and that user stays', async () => {
      const [bob, carol] = await bystanders();
      const mallory = await joined({ userId: 'mallory' }, 'lobby');
      await bob.waitFor(joinedBy('mallory'), 'mallory joining');

      mallory.session.envelope({ message: { $case: 'leave', value: { userId: 'bob', room: 'lobby' } } });

      expect((await mallory.waitEnd()).code).toBe(Status.PERMISSION_DENIED);
      await offenderIsGone('mallory', [bob, carol]);
      await barrier(carol, [bob, carol]);
      for (const log of [bob, carol, mallory]) expect(log.events.filter(leftBy('bob'))).toEqual([]);
      const members = (await t.client().listRooms()).find((r) => r.room === 'lobby');
      expect(members?.memberCount).toBe(2);
      // Bob is still in the room and can speak.
      const id = bob.session.send('lobby', 'still here');
      await carol.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id && e.message.userId === 'bob');
      await expectStillServing('lobby', [bob, carol]);
    });

    it('a join naming another user on a bound stream ends the stream with PERMISSION_DENIED', async () => {
      const [bob, carol] = await bystanders();
      const dave = await joined({ userId: 'dave' }, 'annex');
      const mallory = await joined({ userId: 'mallory' }, 'lobby');
      await bob.waitFor(joinedBy('mallory'), 'mallory joining');

      mallory.session.envelope({ message: { $case: 'join', value: { userId: 'bob', room: 'annex', displayName: 'Bob' } } });

      expect((await mallory.waitEnd()).code).toBe(Status.PERMISSION_DENIED);
      for (const watcher of [bob, carol]) await watcher.waitFor(leftBy('mallory', 'lobby'), 'mallory leaving', PROMPTLY_MS);
      await waitFor(() => t.hub.sessionCount === 3, { timeoutMs: PROMPTLY_MS, what: 'mallory’s session to be freed' });
      expect(await memberCount('lobby')).toBe(2);
      expect(await memberCount('annex')).toBe(1);
      const id = dave.session.send('annex', 'barrier');
      await dave.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'dave’s barrier');
      for (const log of [dave, mallory]) expect(log.events.filter(joinedBy('bob'))).toEqual([]);
      expect(dave.events.filter(joinedBy('mallory'))).toEqual([]);
      await expectStillServing('lobby', [bob, carol]);
      await expectStillServing('annex', [dave]);
    });

    it('the server keeps serving after malformed protobuf bytes, which end that stream with an error', async () => {
      const watchers = await bystanders();
      const raw = rawCall();
      raw.read();
      raw.send({ message: { $case: 'join', value: { userId: 'mallory', room: 'lobby' } } });
      await waitFor(() => raw.events.some((e) => e.event?.$case === 'joined'), { what: 'the raw JoinAck' });

      raw.sendBytes(Buffer.alloc(64, 0xff));

      const status = await raw.waitStatus();
      expect(status.code).not.toBe(Status.OK);
      await offenderIsGone('mallory', watchers);
      await expectStillServing('lobby', watchers);
    });

    it.each([
      ['0xff bytes', Buffer.alloc(64, 0xff)],
      ['a truncated varint', Buffer.from([0x0a, 0x80])],
      ['a field longer than the message', Buffer.from([0x0a, 0x7f, 0x01])],
    ])('%s as the first message end that stream with an error and nothing else', async (_what, bytes) => {
      const watchers = await bystanders();
      const raw = rawCall();
      raw.read();

      raw.sendBytes(bytes);

      const status = await raw.waitStatus();
      expect(status.code).not.toBe(Status.OK);
      await waitFor(() => t.hub.sessionCount === 2, { timeoutMs: PROMPTLY_MS, what: 'the raw session to be freed' });
      await expectStillServing('lobby', watchers);
    });

    it('a message holding only unknown fields has no message set: INVALID_ARGUMENT', async () => {
      const raw = rawCall();
      raw.read();

      // Field 15, varint 1: valid protobuf that chat.v1 does not know.
      raw.sendBytes(Buffer.from([0x78, 0x01]));

      expect((await raw.waitStatus()).code).toBe(Status.INVALID_ARGUMENT);
      await waitFor(() => t.hub.sessionCount === 0, { timeoutMs: PROMPTLY_MS, what: 'the raw session to be freed' });
      await expectStillServing();
    });
  });

  describe('drain', () => {
    const health = () => {
      const channel = createChannel(t.address);
      cleanups.push(() => channel.close());
      return createClient(HealthDefinition, channel);
    };

    it('health reports SERVING for the server and for chat.v1.ChatService before drain', async () => {
      const client = health();
      expect((await client.check({ service: '' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await client.check({ service: 'chat.v1.ChatService' })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    });

    it('drain sends SERVER_SHUTDOWN then UNAVAILABLE to every stream, without waiting out the grace period', async () => {
      await t.stop();
      t = await TestServer.start({ drainGraceMs: 3000 });
      const alice = await joined({ userId: 'alice' }, 'lobby');
      const bob = await joined({ userId: 'bob' }, 'lobby');
      const carol = await joined({ userId: 'carol' }, 'annex');
      // A stream that never joined a room is told too.
      const idle = open({ userId: 'idle' });
      await waitFor(() => t.hub.sessionCount === 4, { what: 'four open sessions' });

      const started = Date.now();
      await t.server.drain();
      const elapsed = Date.now() - started;

      for (const log of [alice, bob, carol, idle]) {
        expect((await log.waitEnd()).code).toBe(Status.UNAVAILABLE);
        expect(lastNotice(log)).toEqual({ type: 'notice', code: 'SERVER_SHUTDOWN' });
      }
      expect(elapsed).toBeLessThan(1500);
      expect(t.hub.sessionCount).toBe(0);
      // Drain is idempotent: again (as t.stop() will do) resolves at once.
      const again = Date.now();
      await t.server.drain();
      expect(Date.now() - again).toBeLessThan(100);
    });

    it('a health watch sees NOT_SERVING during drain and is then ended with UNAVAILABLE, not left to the force-close', async () => {
      await t.stop();
      t = await TestServer.start({ drainGraceMs: 3000 });
      const statuses: HealthCheckResponse_ServingStatus[] = [];
      const watched = (async () => {
        try {
          for await (const { status } of health().watch({ service: 'chat.v1.ChatService' })) statuses.push(status);
          return Status.OK;
        } catch (error) {
          return (error as { code: Status }).code;
        }
      })();
      await waitFor(() => statuses.length === 1, { what: 'the first health status' });
      expect(statuses[0]).toBe(HealthCheckResponse_ServingStatus.SERVING);

      const started = Date.now();
      await t.server.drain();
      // Nothing else is open, so drain must not wait out its grace period for the watch.
      expect(Date.now() - started).toBeLessThan(1500);
      expect(await watched).toBe(Status.UNAVAILABLE);
      expect(statuses).toEqual([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
    });

    it('drain ends within the grace period even when a client never reads', async () => {
      await t.stop();
      const graceMs = 1000;
      t = await TestServer.start({ drainGraceMs: graceMs });
      const alice = await joined({ userId: 'alice' }, 'flood');
      // sloth joins and then never reads a byte.
      const sloth = rawCall();
      sloth.send({ message: { $case: 'join', value: { userId: 'sloth', room: 'flood' } } });
      await alice.waitFor(joinedBy('sloth'), 'sloth joining');

      // Fill sloth's HTTP/2 windows so that the server's writes to it stall
      // (batches that alice, who reads, always takes in full).
      const content = 'z'.repeat(3000);
      for (let batch = 0; batch < 10; batch++) {
        const ids = Array.from({ length: 20 }, () => alice.session.send('flood', content));
        const last = ids.at(-1);
        await alice.waitFor((e) => e.type === 'message' && e.message.clientMsgId === last, `batch ${batch}`);
      }
      expect(sloth.events).toEqual([]);
      expect(t.hub.sessionCount).toBe(2);
      const client = health();

      const started = Date.now();
      const drained = t.server.drain().then(() => Date.now() - started);

      // The reader is told and let go at once: it does not wait for sloth.
      expect((await alice.waitEnd(graceMs / 2)).code).toBe(Status.UNAVAILABLE);
      expect(lastNotice(alice)).toEqual({ type: 'notice', code: 'SERVER_SHUTDOWN' });
      // While sloth holds the drain open: health says NOT_SERVING and new streams are refused.
      expect(t.hub.sessionCount).toBe(1);
      expect((await client.check({ service: '' })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect((await client.check({ service: 'chat.v1.ChatService' })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      const late = open({ userId: 'late' });
      late.session.join('flood');
      const refused = await late.waitEnd();
      expect(refused.code).toBe(Status.UNAVAILABLE);
      expect(refused.details).toContain('SERVER_SHUTDOWN');

      const elapsed = await drained;
      expect(elapsed).toBeGreaterThanOrEqual(graceMs - 50);
      expect(elapsed).toBeLessThan(graceMs + 1000);
      await waitFor(() => t.hub.sessionCount === 0, { timeoutMs: PROMPTLY_MS, what: 'sloth’s session to be freed' });
      expect((await sloth.waitStatus()).code).not.toBe(Status.OK);
    });
  });
});
