import { afterEach, describe, expect, it } from '@jest/globals';
import {
  AlreadyJoinedError,
  ImpersonationError,
  InvalidContentError,
  InvalidDisplayNameError,
  InvalidRequestError,
  InvalidRoomError,
  NotJoinedError,
  RateLimitedError,
  RoomRequestError,
  ServerShutdownError,
  SlowConsumerError,
  StreamError,
  TooManyRoomsError,
} from '../../src/domain/errors.js';
import { seqOf, type SequencedEvent } from '../../src/domain/events.js';
import { Hub, type JoinCommand } from '../../src/domain/Hub.js';
import { defaultLimits, type Limits } from '../../src/domain/limits.js';
import type { Session } from '../../src/domain/Session.js';
import { encode, Inbox, isSequenced, roomOf } from '../helpers/Inbox.js';
import { waitFor } from '../helpers/waitFor.js';

/** Runs `fn` and returns what it threw. */
function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const testLimits = (overrides: Partial<Limits> = {}): Limits => ({ ...defaultLimits, ratePerSecond: 0, ...overrides });

describe('Hub', () => {
  let hub: Hub;
  let sessions: Session[] = [];

  function newHub(overrides: Partial<Limits> = {}, now?: () => number): Hub {
    hub = new Hub({ limits: testLimits(overrides), encode, now });
    return hub;
  }

  function open(): Inbox {
    const session = hub.openSession();
    sessions.push(session);
    return new Inbox(session);
  }

  const joinCmd = (userId: string, room: string, more: Partial<JoinCommand> = {}): JoinCommand => ({
    userId,
    room,
    displayName: '',
    afterSeq: 0,
    history: 0,
    epoch: '',
    batchEvents: false,
    ...more,
  });

  /** Opens a session and joins it to `room` as `userId`. */
  function joined(userId: string, room: string, more: Partial<JoinCommand> = {}): Inbox {
    const inbox = open();
    hub.join(inbox.session, joinCmd(userId, room, more));
    return inbox;
  }

  const say = (inbox: Inbox, room: string, content: string, clientMsgId = '') =>
    hub.publish(inbox.session, { userId: '', room, content, clientMsgId, traceContext: {} });

  const lastSeq = (room: string) => hub.listRooms().find((r) => r.room === room)?.lastSeq;

  afterEach(() => {
    for (const session of sessions) {
      hub.closeSession(session);
      session.queue.abort();
    }
    sessions = [];
    hub.dispose();
  });

  describe('identity', () => {
    it('the first join binds the stream; what is sent carries the bound user and name, not the payload', async () => {
      newHub({}, () => 1_234);
      const alice = joined('alice', 'general', { displayName: 'Alice' });
      expect(alice.session.userId).toBe('alice');
      expect(alice.session.displayName).toBe('Alice');
      // An empty user_id after binding means "me".
      say(alice, 'general', 'hi', 'c1');
      await alice.take();
      const message = alice.events.find((e) => e.kind === 'message');
      expect(message).toEqual({
        kind: 'message',
        message: {
          room: 'general',
          seq: 2,
          userId: 'alice',
          displayName: 'Alice',
          content: 'hi',
          timestampUtc: 1_234,
          clientMsgId: 'c1',
          traceContext: {},
        },
      });
    });

    it('the display name defaults to the user id', async () => {
      newHub();
      const bob = joined('bob', 'general');
      await bob.take();
      expect(bob.session.displayName).toBe('bob');
      expect(bob.acks()[0]?.members).toEqual([{ userId: 'bob', displayName: 'bob' }]);
    });

    it('a later join cannot rename the bound user', async () => {
      newHub();
      const alice = joined('alice', 'one', { displayName: 'Alice' });
      hub.join(alice.session, joinCmd('', 'two', { displayName: 'Mallory' }));
      await alice.take();
      expect(alice.acks('two')[0]?.members).toEqual([{ userId: 'alice', displayName: 'Alice' }]);
      expect(alice.session.displayName).toBe('Alice');
    });

    it('an empty user_id on the first join is an InvalidRequestError and binds nothing', () => {
      newHub();
      const inbox = open();
      expect(() => hub.join(inbox.session, joinCmd('', 'general'))).toThrow(InvalidRequestError);
      expect(inbox.session.bound).toBe(false);
      expect(hub.roomCount).toBe(0);
      // The stream could still bind properly afterwards (the adapter ends it, but the hub stays consistent).
      hub.join(inbox.session, joinCmd('alice', 'general'));
      expect(inbox.session.userId).toBe('alice');
    });

    it('a user_id outside the alphabet on the first join is an InvalidRequestError', () => {
      newHub({ maxUserIdLength: 8 });
      for (const bad of ['al ice', '@alice', 'alice\x1b', 'toolong12']) {
        const inbox = open();
        const error = thrown(() => hub.join(inbox.session, joinCmd(bad, 'general')));
        expect(error).toBeInstanceOf(InvalidRequestError);
        expect(error).toBeInstanceOf(StreamError);
        expect(inbox.session.bound).toBe(false);
      }
      expect(hub.roomCount).toBe(0);
    });

    it('once bound, a join, chat or leave naming another user is an ImpersonationError and changes nothing', async () => {
      newHub();
      const alice = joined('alice', 'general');
      const seqBefore = lastSeq('general');
      const attempts = [
        () => hub.join(alice.session, joinCmd('bob', 'other')),
        () => hub.publish(alice.session, { userId: 'bob', room: 'general', content: 'x', clientMsgId: '', traceContext: {} }),
        () => hub.leave(alice.session, { userId: 'bob', room: 'general' }),
      ];
      for (const attempt of attempts) {
        expect(attempt).toThrow(ImpersonationError);
      }
      expect(lastSeq('general')).toBe(seqBefore);
      expect(hub.roomCount).toBe(1);
      expect(alice.session.userId).toBe('alice');
      // Naming itself explicitly is fine.
      hub.publish(alice.session, { userId: 'alice', room: 'general', content: 'me', clientMsgId: '', traceContext: {} });
      expect(lastSeq('general')).toBe(seqBefore! + 1);
    });

    it('an invalid display name on the first join is an InvalidDisplayNameError and binds nothing', () => {
      newHub();
      const inbox = open();
      const error = thrown(() => hub.join(inbox.session, joinCmd('alice', 'general', { displayName: 'Al\u202eice' })));
      expect(error).toBeInstanceOf(InvalidDisplayNameError);
      expect(error).toMatchObject({ code: 'INVALID_DISPLAY_NAME', room: 'general' });
      expect(inbox.session.bound).toBe(false);
      expect(hub.roomCount).toBe(0);
    });
  });

  describe('refused room requests', () => {
    it('a chat or leave in a room the stream is not in is a NotJoinedError', () => {
      newHub();
      const alice = joined('alice', 'general');
      const chat = thrown(() => say(alice, 'elsewhere', 'hi', 'c7'));
      expect(chat).toBeInstanceOf(NotJoinedError);
      expect(chat).toBeInstanceOf(RoomRequestError);
      expect(chat).toMatchObject({ code: 'NOT_JOINED', room: 'elsewhere', clientMsgId: 'c7', name: 'NotJoinedError' });
      const leave = thrown(() => hub.leave(alice.session, { userId: '', room: 'elsewhere' }));
      expect(leave).toBeInstanceOf(NotJoinedError);
      expect(leave).toMatchObject({ room: 'elsewhere' });
    });

    it('joining a room twice on one stream is an AlreadyJoinedError and sequences nothing', () => {
      newHub();
      const alice = joined('alice', 'general');
      const before = alice.session.queue.length;
      const error = thrown(() => hub.join(alice.session, joinCmd('alice', 'general')));
      expect(error).toBeInstanceOf(AlreadyJoinedError);
      expect(error).toMatchObject({ code: 'ALREADY_JOINED', room: 'general' });
      expect(lastSeq('general')).toBe(1);
      expect(alice.session.queue.length).toBe(before);
    });

    it('a bad room name is an InvalidRoomError, carrying the client_msg_id of a chat', () => {
      newHub({ maxRoomLength: 5 });
      const alice = joined('alice', 'ok');
      for (const room of ['', 'has space', '.dot', 'sixsix', 'a\x1bb']) {
        expect(thrown(() => hub.join(alice.session, joinCmd('', room)))).toBeInstanceOf(InvalidRoomError);
      }
      const chat = thrown(() => say(alice, 'bad room', 'hi', 'c9'));
      expect(chat).toBeInstanceOf(InvalidRoomError);
      expect(chat).toMatchObject({ code: 'INVALID_ROOM', room: 'bad room', clientMsgId: 'c9' });
      expect(hub.roomCount).toBe(1);
    });

    it('bad content is an InvalidContentError with the client_msg_id, and takes no seq', () => {
      newHub({ maxContentBytes: 8 });
      const alice = joined('alice', 'general');
      for (const [content, id] of [['', 'e'], ['   ', 'w'], ['123456789', 'long'], ['\x1b[2J', 'esc'], ['ééééé', 'mb']]) {
        const error = thrown(() => say(alice, 'general', content!, id));
        expect(error).toBeInstanceOf(InvalidContentError);
        expect(error).toMatchObject({ code: 'INVALID_CONTENT', room: 'general', clientMsgId: id });
      }
      say(alice, 'general', '12345678');
      expect(lastSeq('general')).toBe(2);
    });

    it('requests past the rate are a RateLimitedError', () => {
      newHub({ ratePerSecond: 1, rateBurst: 3 });
      const alice = joined('alice', 'general'); // 1 token
      say(alice, 'general', 'one'); // 2
      say(alice, 'general', 'two'); // 3
      const error = thrown(() => say(alice, 'general', 'three', 'c3'));
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({ code: 'RATE_LIMITED', room: 'general', clientMsgId: 'c3' });
      expect(thrown(() => hub.leave(alice.session, { userId: '', room: 'general' }))).toBeInstanceOf(RateLimitedError);
      expect(lastSeq('general')).toBe(3);
    });

    it('the rate is per stream: one stream past it does not limit another', () => {
      newHub({ ratePerSecond: 1, rateBurst: 1 });
      const alice = joined('alice', 'general');
      expect(thrown(() => say(alice, 'general', 'x'))).toBeInstanceOf(RateLimitedError);
      const bob = joined('bob', 'general');
      expect(bob.session.rooms.has('general')).toBe(true);
    });

    it('joining past the rooms-per-stream limit is a TooManyRoomsError', () => {
      newHub({ maxRoomsPerStream: 2 });
      const alice = joined('alice', 'r1');
      hub.join(alice.session, joinCmd('', 'r2'));
      const error = thrown(() => hub.join(alice.session, joinCmd('', 'r3')));
      expect(error).toBeInstanceOf(TooManyRoomsError);
      expect(error).toMatchObject({ code: 'TOO_MANY_ROOMS', room: 'r3' });
      expect(hub.roomCount).toBe(2);
      // Leaving one makes room again.
      hub.leave(alice.session, { userId: '', room: 'r1' });
      hub.join(alice.session, joinCmd('', 'r3'));
      expect([...alice.session.rooms.keys()].sort()).toEqual(['r2', 'r3']);
    });
  });

  describe('order', () => {
    it('join, messages and leave form one gapless sequence every member sees in order', async () => {
      newHub();
      const alice = joined('alice', 'general');
      const bob = joined('bob', 'general');
      say(alice, 'general', 'a1');
      say(bob, 'general', 'b1');
      // Refused requests in between take no seq.
      expect(() => say(bob, 'general', '')).toThrow(InvalidContentError);
      expect(() => hub.join(bob.session, joinCmd('bob', 'general'))).toThrow(AlreadyJoinedError);
      say(alice, 'general', 'a2');
      hub.leave(bob.session, { userId: '', room: 'general' });
      say(alice, 'general', 'a3');
      await alice.take();
      await bob.take();

      expect(alice.summary()).toEqual([
        'ack:alice:0',
        'user_joined:alice:1',
        'user_joined:bob:2',
        'message:alice:3',
        'message:bob:4',
        'message:alice:5',
        'user_left:bob:6',
        'message:alice:7',
      ]);
      // Bob's join notice comes right after his JoinAck; his own leave is answered with the user_left.
      expect(bob.summary()).toEqual([
        'ack:bob:1',
        'user_joined:bob:2',
        'message:alice:3',
        'message:bob:4',
        'message:alice:5',
        'user_left:bob:6',
      ]);
      expect(bob.acks()[0]?.members).toEqual([
        { userId: 'alice', displayName: 'alice' },
        { userId: 'bob', displayName: 'bob' },
      ]);
    });

    it("the sender's own copy is its acknowledgement: it carries the seq and its client_msg_id", async () => {
      newHub();
      const alice = joined('alice', 'general');
      say(alice, 'general', 'hello', 'msg-42');
      await alice.take();
      const own = alice.events.at(-1);
      expect(own).toMatchObject({ kind: 'message', message: { seq: 2, clientMsgId: 'msg-42', content: 'hello' } });
    });

    it('rooms have independent sequences', async () => {
      newHub();
      const alice = joined('alice', 'one');
      hub.join(alice.session, joinCmd('', 'two'));
      say(alice, 'one', 'x');
      say(alice, 'two', 'y');
      say(alice, 'one', 'z');
      await alice.take();
      expect(alice.seqs('one')).toEqual([1, 2, 3]);
      expect(alice.seqs('two')).toEqual([1, 2]);
    });

    it('the JoinAck carries the last `history` messages, oldest first, capped by maxJoinHistory', async () => {
      newHub({ maxJoinHistory: 3 });
      const alice = joined('alice', 'general');
      for (let i = 1; i <= 5; i++) say(alice, 'general', `m${i}`);
      const two = joined('bob', 'general', { history: 2 });
      const many = joined('carol', 'general', { history: 100 });
      const none = joined('dave', 'general');
      await Promise.all([two.take(), many.take(), none.take()]);
      expect(two.acks()[0]?.history.map((m) => m.content)).toEqual(['m4', 'm5']);
      expect(many.acks()[0]?.history.map((m) => m.content)).toEqual(['m3', 'm4', 'm5']);
      expect(none.acks()[0]?.history).toEqual([]);
    });

    it('a resume with after_seq replays the held events after it, then goes live with the join notice', async () => {
      newHub();
      const alice = joined('alice', 'general');
      say(alice, 'general', 'a');
      await alice.take();
      const epoch = alice.acks()[0]!.epoch;
      const bob = joined('bob', 'general');
      say(alice, 'general', 'b');
      // Bob resumes on a new stream after seq 1 (his old stream is still there).
      const again = joined('bob', 'general', { afterSeq: 1, epoch });
      await again.take();
      expect(again.acks()[0]).toMatchObject({ lastSeq: 4, recovered: true, epoch });
      expect(again.summary()).toEqual(['ack:bob:4', 'message:alice:2', 'user_joined:bob:3', 'message:alice:4']);
      expect(bob.session.rooms.has('general')).toBe(true);
    });

    it('a resume past what history still holds gets MISSED_EVENTS with the count before the replay', async () => {
      newHub({ historyEvents: 2 });
      const alice = joined('alice', 'general');
      for (let i = 0; i < 4; i++) say(alice, 'general', `m${i}`); // seqs 2..5, history holds 4 and 5
      const bob = joined('bob', 'general', { afterSeq: 1 });
      await bob.take();
      expect(bob.acks()[0]).toMatchObject({ lastSeq: 5, recovered: false });
      expect(bob.events[1]).toMatchObject({ kind: 'generic', code: 'MISSED_EVENTS', missedCount: 2 });
      expect(bob.seqs()).toEqual([4, 5, 6]);
    });
  });

  describe('presence across sessions', () => {
    it('a user on several streams is one member: joined once, listed once', async () => {
      newHub();
      const bob = joined('bob', 'general');
      const phone = joined('alice', 'general', { displayName: 'Alice' });
      const laptop = joined('alice', 'general', { displayName: 'Alice' });
      await Promise.all([bob.take(), phone.take(), laptop.take()]);
      expect(bob.summary()).toEqual(['ack:bob:0', 'user_joined:bob:1', 'user_joined:alice:2']);
      expect(laptop.acks()[0]?.members).toEqual([
        { userId: 'bob', displayName: 'bob' },
        { userId: 'alice', displayName: 'Alice' },
      ]);
      // The second session's join announced nothing and took no seq.
      expect(laptop.summary()).toEqual(['ack:alice:2']);
      expect(hub.listRooms()[0]).toMatchObject({ memberCount: 2, lastSeq: 2 });
      // Both sessions receive the room's events.
      say(bob, 'general', 'hi');
      await Promise.all([phone.take(), laptop.take()]);
      expect(phone.seqs()).toEqual([2, 3]);
      expect(laptop.seqs()).toEqual([3]);
    });

    it("leaving on one of a user's streams announces nothing; leaving on the last announces the leave", async () => {
      newHub();
      const bob = joined('bob', 'general');
      const phone = joined('alice', 'general');
      const laptop = joined('alice', 'general');
      await Promise.all([bob.take(), phone.take(), laptop.take()]);

      hub.leave(phone.session, { userId: '', room: 'general' });
      expect(await phone.take()).toEqual([
        { kind: 'session_left', room: 'general', userId: 'alice', displayName: 'alice' },
      ]);
      expect(await bob.take()).toEqual([]);
      expect(lastSeq('general')).toBe(2);

      hub.leave(laptop.session, { userId: '', room: 'general' });
      expect((await bob.take()).map((e) => (isSequenced(e) ? `${e.kind}:${seqOf(e)}` : e.kind))).toEqual(['user_left:3']);
      expect((await laptop.take()).map((e) => e.kind)).toEqual(['user_left']);
      expect(hub.listRooms()[0]).toMatchObject({ memberCount: 1, lastSeq: 3 });
    });

    it("a stream ending leaves all its rooms; the user's leave is announced only when no stream is left", async () => {
      newHub();
      const bob = joined('bob', 'one');
      hub.join(bob.session, joinCmd('', 'two'));
      const phone = joined('alice', 'one');
      hub.join(phone.session, joinCmd('', 'two'));
      const laptop = joined('alice', 'one');
      await bob.take();

      hub.closeSession(laptop.session);
      expect(await bob.take()).toEqual([]);
      hub.closeSession(phone.session);
      hub.closeSession(phone.session); // safe twice
      await bob.take();
      expect(bob.summary().slice(-2)).toEqual(['user_left:alice:3', 'user_left:alice:3']);
      expect(bob.seqs('one')).toEqual([1, 2, 3]);
      expect(bob.seqs('two')).toEqual([1, 2, 3]);
      expect(phone.session.rooms.size).toBe(0);
      expect(hub.sessionCount).toBe(1);
    });
  });

  describe('slow consumers', () => {
    it('a slow member is cut off without delaying others, and its leave follows the fan-out in progress', async () => {
      newHub({ queueEvents: 8 });
      // Join order decides fan-out order: the slow member sits between two others.
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      const bob = joined('bob', 'general');
      // The slow member never reads: ack, its join, bob's join, then messages 4..8 fill its 8 slots,
      // so message 9 overflows it in the middle of that message's fan-out (after alice, before bob).
      for (let i = 0; i < 20; i++) {
        say(alice, 'general', `m${i}`);
        if (i === 5) expect(slow.session.queue.closed).toBe(true);
        await Promise.all([alice.take(), bob.take()]);
      }
      for (const inbox of [alice, bob]) {
        expect(inbox.events.filter((e) => e.kind === 'message')).toHaveLength(20);
        const seqs = inbox.seqs();
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
        const summary = inbox.summary();
        const left = summary.indexOf('user_left:slow:10');
        expect(left).toBeGreaterThan(0);
        expect(summary[left - 1]).toBe('message:alice:9');
        expect(summary.at(-1)).toBe('message:alice:24');
      }
      expect(hub.sessionCount).toBe(2);
      expect(hub.listRooms()[0]).toMatchObject({ memberCount: 2, lastSeq: 24 });

      // Its queue was emptied and ends with SlowConsumerError.
      const error = await slow.end();
      expect(error).toBeInstanceOf(SlowConsumerError);
      expect(error).toBeInstanceOf(StreamError);
      expect((error as Error).message).toContain('SLOW_CONSUMER');
      expect(slow.events).toEqual([]);
      expect(slow.session.rooms.size).toBe(0);
    });

    it('the queue is bounded by bytes as well as by events', async () => {
      newHub({ queueEvents: 1_000_000, queueBytes: 4_096 });
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      const big = 'x'.repeat(1_000);
      let cutAfter = 0;
      for (let i = 1; i <= 5 && cutAfter === 0; i++) {
        say(alice, 'general', big);
        await alice.take();
        if (slow.session.queue.closed) cutAfter = i;
      }
      // Each message is a little over 1,000 bytes: the fourth passes 4,096 bytes queued.
      expect(cutAfter).toBe(4);
      expect(await slow.end()).toBeInstanceOf(SlowConsumerError);
      expect(alice.events.filter((e) => e.kind === 'message')).toHaveLength(4);
    });

    it('a member that keeps up is never cut off', async () => {
      newHub({ queueEvents: 8 });
      const alice = joined('alice', 'general');
      const bob = joined('bob', 'general');
      for (let i = 0; i < 100; i++) {
        say(alice, 'general', `m${i}`);
        await bob.take();
        await alice.take();
      }
      expect(bob.session.queue.closed).toBe(false);
      expect(bob.events.filter((e) => e.kind === 'message')).toHaveLength(100);
    });

    it('a slow member cut off in several rooms leaves each of them', async () => {
      newHub({ queueEvents: 8 });
      const alice = joined('alice', 'one');
      hub.join(alice.session, joinCmd('', 'two'));
      const slow = joined('slow', 'one');
      hub.join(slow.session, joinCmd('', 'two'));
      for (let i = 0; i < 10; i++) {
        say(alice, 'one', `m${i}`);
        await alice.take();
      }
      expect(hub.sessionCount).toBe(1);
      expect(alice.events.filter((e) => e.kind === 'user_left' && e.userId === 'slow').map(roomOf).sort()).toEqual([
        'one',
        'two',
      ]);
      expect(alice.seqs('two')).toEqual([1, 2, 3]);
      expect(hub.listRooms().map((r) => r.memberCount)).toEqual([1, 1]);
    });
  });

  describe('backpressure', () => {
    /** A tracker of whether a promise has settled, without waiting on time. */
    function track(promise: Promise<unknown> | undefined): { readonly done: boolean } {
      const state = { done: promise === undefined };
      void promise?.then(() => (state.done = true));
      return state;
    }
    const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
    const marks = { queueHighWaterBytes: 600, queueLowWaterBytes: 200 };
    /** Publishes as alice until the slow member is behind (past the high-water mark). */
    async function fallBehind(alice: Inbox, slow: Inbox): Promise<void> {
      for (let i = 0; !slow.session.behind; i++) {
        if (i > 100) throw new Error('never fell behind');
        say(alice, 'general', `m${i}`);
        await alice.take();
      }
    }

    it('a member past the high-water mark holds its room: publishes and joins wait until it is under the low-water mark', async () => {
      newHub(marks);
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      const elsewhere = joined('carol', 'elsewhere');
      await fallBehind(alice, slow);
      expect(slow.session.queue.bytes).toBeGreaterThan(600);

      const publish = track(hub.admission(alice.session, 'publish', 'general'));
      const join = track(hub.admission(open().session, 'join', 'general'));
      // Other rooms, and requests that add nothing to the room, go on.
      expect(hub.admission(elsewhere.session, 'publish', 'elsewhere')).toBeUndefined();
      expect(hub.admission(alice.session, 'other', '')).toBeUndefined();
      expect(hub.paused()).toEqual({ rooms: 1, server: false });
      await settle();
      expect([publish.done, join.done]).toEqual([false, false]);

      await slow.take();
      await settle();
      expect([publish.done, join.done]).toEqual([true, true]);
      expect(hub.admission(alice.session, 'publish', 'general')).toBeUndefined();
      expect(slow.session.queue.closed).toBe(false);
    });

    it('a stream that is behind has its own requests wait, whatever their room', async () => {
      newHub(marks);
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      await fallBehind(alice, slow);
      const own = track(hub.admission(slow.session, 'other', ''));
      await settle();
      expect(own.done).toBe(false);
      await slow.take();
      await settle();
      expect(own.done).toBe(true);
    });

    it('after the stall grace a member that writes nothing stops holding the room; after the write deadline it is cut off', async () => {
      const cutOff: string[] = [];
      hub = new Hub({
        limits: testLimits({ ...marks, stallGraceMs: 100, writeDeadlineMs: 400 }),
        encode,
        onCutOff: (session, cause) => cutOff.push(`${session.userId}:${cause}`),
      });
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      await fallBehind(alice, slow);
      expect(hub.sweepMs).toBe(25);
      // Rounds are counted from the first that sees output waiting: more than the grace (100 ms = 4 rounds) must pass.
      for (let i = 0; i < 4; i++) hub.sweep();
      expect(hub.admission(alice.session, 'publish', 'general')).toBeDefined();
      hub.sweep();
      expect(slow.session.stalled).toBe(true);
      expect(hub.admission(alice.session, 'publish', 'general')).toBeUndefined();
      // The room goes on without it.
      for (let i = 0; i < 5; i++) say(alice, 'general', `more${i}`);
      for (let i = 5; i < 16; i++) hub.sweep();
      expect(slow.session.queue.closed).toBe(false);
      hub.sweep(); // the 17th round: past 400 ms
      expect(slow.session.queue.closed).toBe(true);
      const error = await slow.end();
      expect(error).toBeInstanceOf(SlowConsumerError);
      expect((error as SlowConsumerError).reason).toBe('write_deadline');
      expect((error as Error).message).toContain('no write progress for 400 ms');
      await settle();
      expect(cutOff).toEqual(['slow:write_deadline']);
      expect(hub.sessionCount).toBe(1);
      await alice.take();
      expect(alice.summary().at(-1)).toBe('user_left:slow:' + lastSeq('general'));
    });

    it('a member that writes but stays behind stops holding the room after the grace, and is never cut off for the deadline', async () => {
      newHub({ ...marks, stallGraceMs: 100, writeDeadlineMs: 400 });
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      for (let i = 0; i < 20; i++) say(alice, 'general', `m${i}`);
      await alice.take(); // alice keeps up
      expect(slow.session.behind).toBe(true);
      const round = () => {
        slow.session.progressed(); // it writes, slowly: never idle
        hub.sweep();
      };
      for (let i = 0; i < 4; i++) round();
      expect(hub.admission(alice.session, 'publish', 'general')).toBeDefined();
      round();
      // Behind through the grace while the others drained: the room goes on without it.
      expect(slow.session.stalled).toBe(true);
      expect(hub.admission(alice.session, 'publish', 'general')).toBeUndefined();
      for (let i = 0; i < 100; i++) round();
      expect(slow.session.queue.closed).toBe(false);
      expect(hub.backpressure.cutOffs.write_deadline).toBe(0);
    });

    it('a stalled member that catches up holds its rooms again the next time it falls behind', async () => {
      newHub({ ...marks, stallGraceMs: 100, writeDeadlineMs: 400 });
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      await fallBehind(alice, slow);
      for (let i = 0; i < 5; i++) hub.sweep();
      expect(slow.session.stalled).toBe(true);
      await slow.take();
      expect([slow.session.behind, slow.session.stalled]).toEqual([false, false]);
      await fallBehind(alice, slow);
      expect(hub.admission(alice.session, 'publish', 'general')).toBeDefined();
    });

    it('a member that is behind releases the room when it leaves it, or when its stream ends', async () => {
      newHub(marks);
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      hub.join(slow.session, joinCmd('', 'other'));
      const bob = joined('bob', 'other');
      await fallBehind(alice, slow);
      expect(hub.paused().rooms).toBe(2);
      hub.leave(slow.session, { userId: '', room: 'general' });
      expect(hub.admission(alice.session, 'publish', 'general')).toBeUndefined();
      expect(hub.admission(bob.session, 'publish', 'other')).toBeDefined();
      hub.closeSession(slow.session);
      expect(hub.admission(bob.session, 'publish', 'other')).toBeUndefined();
      expect(hub.paused()).toEqual({ rooms: 0, server: false });
    });

    it('past the queue budget every publish and join waits, until all queues are under three quarters of it', async () => {
      newHub({ queueBudgetBytes: 2000, queueHighWaterBytes: 100_000, queueLowWaterBytes: 1000 });
      const alice = joined('alice', 'general');
      const members = ['b1', 'b2', 'b3', 'b4', 'b5'].map((u) => joined(u, 'general'));
      const carol = joined('carol', 'elsewhere');
      for (const inbox of [alice, ...members, carol]) await inbox.take();
      for (let i = 0; hub.queued().bytes <= 2000; i++) {
        say(alice, 'general', `message number ${i}`);
        await alice.take();
      }
      expect(hub.paused().server).toBe(true);
      const waits = [hub.admission(carol.session, 'publish', 'elsewhere'), hub.admission(carol.session, 'join', 'new')].map(track);
      expect(hub.admission(carol.session, 'other', '')).toBeUndefined();
      // Members read one by one: paused while more than 1,500 bytes are queued, going on from there.
      let sawPausedAfterARead = false;
      for (const member of members) {
        await member.take();
        await settle();
        const over = hub.queued().bytes > 1500;
        sawPausedAfterARead ||= over;
        expect(hub.paused().server).toBe(over);
        expect(waits.map((w) => w.done)).toEqual([!over, !over]);
        if (!over) break;
      }
      expect(sawPausedAfterARead).toBe(true);
      expect(waits.map((w) => w.done)).toEqual([true, true]);
      // Nobody was cut off: the budget paces, it does not drop.
      expect([alice, ...members, carol].some((i) => i.session.queue.closed)).toBe(false);
    });

    it('past the budget, stalled streams are cut off largest first until it is back under its resume mark', async () => {
      const cutOff: string[] = [];
      hub = new Hub({
        limits: testLimits({ queueBudgetBytes: 4000, queueHighWaterBytes: 500, queueLowWaterBytes: 100, stallGraceMs: 100, writeDeadlineMs: 10_000 }),
        encode,
        onCutOff: (session, cause) => cutOff.push(`${session.userId}:${cause}`),
      });
      const alice = joined('alice', 'general');
      const big = joined('big', 'general');
      const small = joined('small', 'general');
      for (let i = 0; i < 12; i++) say(alice, 'general', `m${i}`);
      await alice.take();
      await small.take();
      for (let i = 0; i < 2; i++) say(alice, 'general', `m${i}`);
      await alice.take();
      // big holds the most, small a little; both stop writing.
      for (let i = 0; i < 5; i++) hub.sweep();
      expect([big.session.stalled, small.session.behind]).toEqual([true, false]);
      for (let i = 0; hub.queued().bytes <= 4000; i++) say(alice, 'general', `filler ${i}`);
      expect(hub.paused().server).toBe(true);
      hub.sweep();
      expect(cutOff).toEqual([]); // the microtask that frees it has not run yet
      expect(big.session.queue.closed).toBe(true);
      expect((await big.end()) as SlowConsumerError).toMatchObject({ reason: 'budget' });
      await settle();
      expect(cutOff).toEqual(['big:budget']);
      expect(small.session.queue.closed).toBe(false);
      expect(hub.paused().server).toBe(false);
    });

    it('a queue past its own bound is cut off at once with cause queue_bound', async () => {
      newHub({ queueBytes: 2000, queueHighWaterBytes: 1000, queueLowWaterBytes: 100 });
      const alice = joined('alice', 'general');
      const slow = joined('slow', 'general');
      for (let i = 0; i < 100 && !slow.session.queue.closed; i++) {
        say(alice, 'general', `m${i}`);
        await alice.take();
      }
      const error = (await slow.end()) as SlowConsumerError;
      expect(error).toBeInstanceOf(SlowConsumerError);
      expect(error.reason).toBe('queue_bound');
    });
  });

  describe('drain and idle', () => {
    it('drain() queues a SERVER_SHUTDOWN notice after what is queued, then ends each queue with ServerShutdownError', async () => {
      newHub();
      const alice = joined('alice', 'general');
      const bob = joined('bob', 'general');
      say(alice, 'general', 'last words');
      hub.drain();
      for (const inbox of [alice, bob]) {
        expect(inbox.session.queue.closed).toBe(true);
        const error = await inbox.end();
        expect(error).toBeInstanceOf(ServerShutdownError);
        expect((error as Error).message).toContain('SERVER_SHUTDOWN');
        expect(inbox.events.at(-2)).toMatchObject({ kind: 'message', message: { content: 'last words' } });
        expect(inbox.events.at(-1)).toMatchObject({ kind: 'generic', code: 'SERVER_SHUTDOWN', room: '' });
      }
    });

    it('drain() reaches sessions that never joined a room', async () => {
      newHub();
      const idle = open();
      hub.drain();
      expect(await idle.end()).toBeInstanceOf(ServerShutdownError);
      expect(idle.summary()).toEqual(['generic:SERVER_SHUTDOWN']);
    });

    it('whenIdle() resolves at once with no session, else once the last session is closed', async () => {
      newHub();
      await hub.whenIdle();
      const alice = joined('alice', 'general');
      const bob = open();
      let idle = false;
      void hub.whenIdle().then(() => (idle = true));
      hub.drain();
      hub.closeSession(alice.session);
      await new Promise((resolve) => setImmediate(resolve));
      expect(idle).toBe(false);
      hub.closeSession(bob.session);
      await waitFor(() => idle, { what: 'whenIdle to resolve' });
      expect(hub.sessionCount).toBe(0);
    });
  });

  describe('grace period of empty rooms', () => {
    it('an empty room keeps its sequence and epoch through the grace period, so a lone member can resume', async () => {
      newHub({ roomGraceMs: 60_000 });
      const alice = joined('alice', 'general');
      say(alice, 'general', 'before');
      await alice.take();
      const epoch = alice.acks()[0]!.epoch;
      hub.closeSession(alice.session);
      expect(hub.roomCount).toBe(1);
      expect(hub.listRooms()[0]).toMatchObject({ room: 'general', memberCount: 0, lastSeq: 3, epoch });

      const back = joined('alice', 'general', { afterSeq: 2, epoch });
      await back.take();
      expect(back.acks()[0]).toMatchObject({ lastSeq: 3, epoch, recovered: true });
      expect(back.summary()).toEqual(['ack:alice:3', 'user_left:alice:3', 'user_joined:alice:4']);
    });

    it('an empty room is freed after the grace period and restarts with a new epoch', async () => {
      newHub({ roomGraceMs: 20 });
      const alice = joined('alice', 'general');
      say(alice, 'general', 'before');
      await alice.take();
      const oldEpoch = alice.acks()[0]!.epoch;
      hub.leave(alice.session, { userId: '', room: 'general' });
      expect(hub.roomCount).toBe(1);
      await waitFor(() => hub.roomCount === 0, { what: 'the empty room to be freed' });

      const back = joined('alice', 'general', { afterSeq: 3, epoch: oldEpoch });
      await back.take();
      const ack = back.acks()[0]!;
      expect(ack.lastSeq).toBe(0);
      expect(ack.epoch).not.toBe(oldEpoch);
      expect(ack.recovered).toBe(false);
      expect(back.events[1]).toMatchObject({ kind: 'generic', code: 'MISSED_EVENTS' });
      expect(back.seqs()).toEqual([1]);
    });

    it('rejoining during the grace period keeps the room past it', async () => {
      newHub({ roomGraceMs: 30 });
      const alice = joined('alice', 'kept');
      hub.closeSession(alice.session);
      const back = joined('alice', 'kept');
      // A room emptied later with the same grace is freed later than "kept" would have been.
      const probe = joined('probe', 'probe');
      hub.closeSession(probe.session);
      await waitFor(() => !hub.listRooms().some((r) => r.room === 'probe'), { what: 'the probe room to be freed' });
      expect(hub.listRooms().map((r) => r.room)).toEqual(['kept']);
      await back.take();
      expect(back.acks()[0]?.lastSeq).toBe(2);
    });

    it('a room with members is never freed', async () => {
      newHub({ roomGraceMs: 10 });
      const alice = joined('alice', 'busy');
      const bob = joined('bob', 'busy');
      hub.closeSession(bob.session);
      const probe = joined('probe', 'probe');
      hub.closeSession(probe.session);
      await waitFor(() => hub.roomCount === 1, { what: 'the probe room to be freed' });
      expect(hub.listRooms()[0]).toMatchObject({ room: 'busy', memberCount: 1 });
      expect(alice.session.rooms.has('busy')).toBe(true);
    });

    it('with no grace period an empty room is freed at once', () => {
      newHub({ roomGraceMs: 0 });
      const alice = joined('alice', 'general');
      hub.leave(alice.session, { userId: '', room: 'general' });
      expect(hub.roomCount).toBe(0);
    });
  });
});
