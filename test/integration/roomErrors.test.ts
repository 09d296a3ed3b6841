import { describe, expect, it } from '@jest/globals';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Client, credentials, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { Status } from 'nice-grpc';
import {
  ClientEnvelope,
  JoinRequest,
  ServerEvent,
  type ServerNotice,
  ServerNotice_Type,
} from '../../gen/chat/v1/chat.js';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import type { Limits } from '../../src/domain/limits.js';
import type { EventLog } from '../helpers/EventLog.js';
import { serverPerTest } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Every TYPE_ERROR a request about one room can get (PROTOCOL.md, "Errors that
 * keep the stream"): each is answered with a notice naming the room, the code and,
 * for chat, the client_msg_id, and the stream goes on delivering messages.
 */

const startServer = serverPerTest();

/** Starts a server with these limits, stopped after the test (which fails if a session leaked). */
const start = (limits: Partial<Limits> = {}) => startServer({ limits });

/** Waits for the TYPE_ERROR notice with this code that `about` picks out. */
async function errorNotice(
  log: EventLog,
  code: string,
  about: (notice: ServerNotice) => boolean,
  what: string,
): Promise<ServerNotice> {
  const event = await log.waitFor(
    (e) => e.type === 'error' && e.notice.code === code && about(e.notice),
    `${code} about ${what}`,
  );
  const notice = (event as Extract<ChatEvent, { type: 'error' }>).notice;
  expect(notice.type).toBe(ServerNotice_Type.TYPE_ERROR);
  expect(notice.message).not.toBe('');
  return notice;
}

/** Sends a chat and waits for the sender's own copy: the stream still carries messages. */
async function expectStreamWorks(log: EventLog, room: string): Promise<void> {
  const id = log.session.send(room, 'still here');
  const echo = await log.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, `own copy of ${id}`);
  expect(echo.room).toBe(room);
  expect(log.end).toBeUndefined();
}

/** Sends a chat and waits for whichever answers it: its own copy or an error about it. */
async function answerTo(log: EventLog, room: string, content: string): Promise<ChatEvent> {
  const id = log.session.send(room, content);
  return log.waitFor(
    (e) => (e.type === 'message' && e.message.clientMsgId === id) || (e.type === 'error' && e.notice.clientMsgId === id),
    `answer to ${JSON.stringify(content.slice(0, 40))}`,
  );
}

describe('NOT_JOINED', () => {
  it('a chat to a room this stream has not joined is refused with room and client_msg_id, and reaches no one', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, 'general');
    const bob = await t.joined({ userId: 'bob' }, 'random');

    const id = bob.session.send('general', 'sneaking in');
    const notice = await errorNotice(bob, 'NOT_JOINED', (n) => n.clientMsgId === id, 'the chat');
    expect(notice.room).toBe('general');

    await expectStreamWorks(bob, 'random');
    await expectStreamWorks(alice, 'general');
    expect(alice.contents('general')).not.toContain('sneaking in');
  });

  it('a leave of a room this stream has not joined is refused with the room, and the stream goes on', async () => {
    const t = await start();
    const bob = await t.joined({ userId: 'bob' }, 'random');

    bob.session.leave('elsewhere');
    const notice = await errorNotice(bob, 'NOT_JOINED', (n) => n.room === 'elsewhere', 'the leave');
    expect(notice.clientMsgId).toBe('');

    await expectStreamWorks(bob, 'random');
  });

  it('after leaving a room, chatting there is refused as NOT_JOINED while other rooms still work', async () => {
    const t = await start();
    const bob = await t.joined({ userId: 'bob' }, 'random');
    bob.session.join('general');
    await bob.joined('general');
    bob.session.leave('general');
    await bob.waitFor((e) => e.type === 'user_left' && e.room === 'general', 'own leave');

    const id = bob.session.send('general', 'too late');
    const notice = await errorNotice(bob, 'NOT_JOINED', (n) => n.clientMsgId === id, 'the chat');
    expect(notice.room).toBe('general');
    await expectStreamWorks(bob, 'random');
  });
});

describe('ALREADY_JOINED', () => {
  it('the same stream joining the same room twice is refused, without a second ack or join notice', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, 'general');
    const bob = await t.joined({ userId: 'bob' }, 'general');

    bob.session.join('general');
    const notice = await errorNotice(bob, 'ALREADY_JOINED', (n) => n.room === 'general', 'the second join');
    expect(notice.clientMsgId).toBe('');

    await expectStreamWorks(bob, 'general');
    await alice.waitFor((e) => e.type === 'message' && e.message.content === 'still here', 'bob still in the room');
    expect(bob.of('joined', 'general')).toHaveLength(1);
    expect(alice.of('user_joined').filter((e) => e.notice.userId === 'bob')).toHaveLength(1);
  });

  it('the same user joining the same room from another stream is not ALREADY_JOINED', async () => {
    const t = await start();
    const first = await t.joined({ userId: 'bob' }, 'general');
    const second = await t.joined({ userId: 'bob' }, 'general');
    await expectStreamWorks(second, 'general');
    expect(second.of('error')).toEqual([]);
    expect(first.of('error')).toEqual([]);
  });
});

describe('INVALID_ROOM', () => {
  it('an empty room name is refused on join, chat and leave, and the stream goes on', async () => {
    const t = await start();
    const bob = await t.joined({ userId: 'bob' }, 'random');

    bob.session.join('');
    await errorNotice(bob, 'INVALID_ROOM', (n) => n.room === '' && n.clientMsgId === '', 'the join');
    const id = bob.session.send('', 'to nowhere');
    await errorNotice(bob, 'INVALID_ROOM', (n) => n.room === '' && n.clientMsgId === id, 'the chat');
    bob.session.leave('');
    await waitFor(() => bob.of('error').filter((e) => e.notice.code === 'INVALID_ROOM').length === 3, {
      what: 'INVALID_ROOM about the leave',
    });

    await expectStreamWorks(bob, 'random');
  });

  it('room names with forbidden characters are refused, each answered with its room', async () => {
    const t = await start();
    const bob = await t.joined({ userId: 'bob' }, 'random');
    const forbidden = ['has space', 'a/b', '#general', '-leading-dash', '.hidden', 'röom', 'tab\there', 'esc\x1b[2J', 'nul\x00'];

    for (const room of forbidden) {
      bob.session.join(room);
      await errorNotice(bob, 'INVALID_ROOM', (n) => n.room === room, `join of ${JSON.stringify(room)}`);
    }
    const id = bob.session.send('a/b', 'hello');
    const chatNotice = await errorNotice(bob, 'INVALID_ROOM', (n) => n.clientMsgId === id, 'the chat');
    expect(chatNotice.room).toBe('a/b');

    expect(bob.of('joined')).toHaveLength(1);
    expect((await t.client().listRooms()).map((r) => r.room)).toEqual(['random']);
    await expectStreamWorks(bob, 'random');
  });

  it('a room name of exactly maxRoomLength is accepted, one character more is refused', async () => {
    const t = await start();
    const max = t.config.limits.maxRoomLength;
    const bob = await t.joined({ userId: 'bob' }, 'random');

    const longest = 'r'.repeat(max);
    bob.session.join(longest);
    await bob.joined(longest);
    await expectStreamWorks(bob, longest);

    const tooLong = 'r'.repeat(max + 1);
    bob.session.join(tooLong);
    await errorNotice(bob, 'INVALID_ROOM', (n) => n.room === tooLong, 'the over-long room');
    expect(bob.of('joined', tooLong)).toEqual([]);

    await expectStreamWorks(bob, longest);
  });
});

describe('INVALID_CONTENT', () => {
  it('empty and whitespace-only content is refused with room and client_msg_id, and reaches no one', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, 'general');
    const bob = await t.joined({ userId: 'bob' }, 'general');

    for (const content of ['', ' ', '   \t\n  ', '\n']) {
      const id = bob.session.send('general', content);
      const notice = await errorNotice(bob, 'INVALID_CONTENT', (n) => n.clientMsgId === id, JSON.stringify(content));
      expect(notice.room).toBe('general');
    }

    await expectStreamWorks(bob, 'general');
    await alice.waitFor((e) => e.type === 'message' && e.message.content === 'still here', 'the good message');
    expect(alice.contents('general')).toEqual(['still here']);
  });

  it('content of exactly maxContentBytes is delivered, one byte more is refused (ASCII)', async () => {
    const t = await start();
    const max = t.config.limits.maxContentBytes;
    const bob = await t.joined({ userId: 'bob' }, 'general');

    const fits = 'x'.repeat(max);
    const accepted = await answerTo(bob, 'general', fits);
    expect(accepted.type).toBe('message');
    expect(accepted.type === 'message' && accepted.message.content).toBe(fits);

    const refused = await answerTo(bob, 'general', 'x'.repeat(max + 1));
    expect(refused.type).toBe('error');
    expect(refused.type === 'error' && refused.notice.code).toBe('INVALID_CONTENT');
    expect(refused.room).toBe('general');

    await expectStreamWorks(bob, 'general');
  });

  it('the content limit counts UTF-8 bytes, not characters: multi-byte text at the limit passes, one byte over fails', async () => {
    const t = await start();
    const max = t.config.limits.maxContentBytes;
    expect(max % 4).toBe(0); // so that 2- and 4-byte characters fill it exactly
    const bob = await t.joined({ userId: 'bob' }, 'general');

    const euros = Math.floor((max - 1) / 3);
    const cases = [
      { fits: 'é'.repeat(max / 2), over: `${'é'.repeat(max / 2)}a` }, // 2-byte characters
      { fits: `${'a'.repeat(max - 3 * euros)}${'€'.repeat(euros)}`, over: `${'a'.repeat(max - 3 * euros + 1)}${'€'.repeat(euros)}` }, // 3-byte
      { fits: '😀'.repeat(max / 4), over: `${'😀'.repeat(max / 4)}a` }, // 4-byte (surrogate pairs in JS)
      { fits: `${'x'.repeat(max - 2)}é`, over: `${'x'.repeat(max - 1)}é` }, // the last character straddles the limit
    ];
    for (const { fits, over } of cases) {
      expect(Buffer.byteLength(fits)).toBe(max);
      expect(Buffer.byteLength(over)).toBe(max + 1);
      expect([...over].length).toBeLessThanOrEqual(max); // a character count would let it through

      const accepted = await answerTo(bob, 'general', fits);
      expect(accepted.type === 'message' && accepted.message.content).toBe(fits);
      const refused = await answerTo(bob, 'general', over);
      expect(refused.type === 'error' && refused.notice.code).toBe('INVALID_CONTENT');
    }
    await expectStreamWorks(bob, 'general');
  });

  it('escape sequences and control characters are refused; newline and tab are delivered as sent', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, 'general');
    const bob = await t.joined({ userId: 'bob' }, 'general');
    const hostile = [
      '\x1b[31mred\x1b[0m', // ANSI colour (CSI)
      '\x1b[2J\x1b[H wiped', // clear screen, cursor home
      '\x1b]0;pwned\x07', // OSC: set the terminal title
      'plain \x1b', // a lone ESC
      'bell\x07',
      'back\x08space',
      'carriage\rreturn',
      'form\x0cfeed',
      'vertical\x0btab',
      'nul\x00byte',
      'delete\x7f',
      'c1 csi\x9b31m', // the 8-bit CSI
    ];

    for (const content of hostile) {
      const refused = await answerTo(bob, 'general', content);
      expect({ content, code: refused.type === 'error' ? refused.notice.code : refused.type }).toEqual({
        content,
        code: 'INVALID_CONTENT',
      });
      expect(refused.room).toBe('general');
    }

    const multiline = 'line one\nline two\n\tindented\tcolumns';
    const accepted = await answerTo(bob, 'general', multiline);
    expect(accepted.type === 'message' && accepted.message.content).toBe(multiline);
    const seen = await alice.waitFor((e) => e.type === 'message' && e.message.content === multiline, 'the multiline message');
    expect(seen.type).toBe('message');
    expect(alice.contents('general')).toEqual([multiline]);
    await expectStreamWorks(bob, 'general');
  });

  it('content whose bytes are not valid UTF-8 is refused with its client_msg_id, and the stream goes on', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, 'general');
    const raw = RawChannel.open(t.address);
    try {
      raw.write(ClientEnvelope.encode({ message: { $case: 'join', value: joinRequest('mallory', 'general') } }).finish());
      await raw.waitFor((e) => e.event?.$case === 'joined', 'the JoinAck');

      // 'ok ' then a lone continuation byte, an overlong '/', and a truncated 3-byte sequence.
      for (const [i, bytes] of [[0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xff, 0xfe]].entries()) {
        const id = `bad-${i}`;
        raw.write(rawChat('general', Uint8Array.from([0x6f, 0x6b, 0x20, ...bytes]), id));
        const event = await raw.waitFor(
          (e) => e.event?.$case === 'notice' && e.event.value.clientMsgId === id,
          `the answer to ${id}`,
        );
        const notice = event.event?.$case === 'notice' ? event.event.value : undefined;
        expect(notice).toMatchObject({ type: ServerNotice_Type.TYPE_ERROR, code: 'INVALID_CONTENT', room: 'general' });
      }

      raw.write(rawChat('general', new TextEncoder().encode('valid after all'), 'good'));
      await raw.waitFor(
        (e) => e.event?.$case === 'broadcast' && e.event.value.clientMsgId === 'good',
        'the own copy of the valid message',
      );
      await alice.waitFor((e) => e.type === 'message' && e.message.content === 'valid after all', 'the valid message');
      expect(alice.contents('general')).toEqual(['valid after all']);
      expect(raw.events.some((e) => e.event?.$case === 'broadcast' && e.event.value.content.includes('\ufffd'))).toBe(false);

      raw.end();
      expect((await raw.status()).code).toBe(Status.OK);
    } finally {
      raw.close();
    }
  });
});

describe('INVALID_DISPLAY_NAME', () => {
  it('control characters in the display name refuse the first join; a later join with a clean name works', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice' }, 'general');

    for (const displayName of ['\x1b[31mEve', 'Eve\x07', 'Eve\nAdmin', 'E\x00ve', 'Eve\x9b']) {
      const eve = t.open({ userId: 'eve', displayName });
      eve.session.join('general');
      const notice = await errorNotice(eve, 'INVALID_DISPLAY_NAME', (n) => n.room === 'general', JSON.stringify(displayName));
      expect(notice.clientMsgId).toBe('');
      expect(eve.of('joined')).toEqual([]);

      // The stream goes on: a join with a clean name binds it and chat works.
      eve.session.envelope({ message: { $case: 'join', value: { userId: 'eve', room: 'general', displayName: 'Eve' } } });
      const ack = await eve.joined('general');
      expect(ack.members.find((m) => m.userId === 'eve')?.displayName).toBe('Eve');
      await expectStreamWorks(eve, 'general');
      eve.session.close();
      expect((await eve.waitEnd()).code).toBe(Status.OK);
    }
    const joins = alice.of('user_joined').filter((e) => e.notice.userId === 'eve');
    expect(joins.map((e) => e.notice.displayName)).toEqual(['Eve', 'Eve', 'Eve', 'Eve', 'Eve']);
  });
});

describe('RATE_LIMITED', () => {
  it('the 6th envelope of a burst is refused with its client_msg_id; once the bucket refills, chat works again', async () => {
    const t = await start({ ratePerSecond: 1, rateBurst: 5 });
    const alice = await t.joined({ userId: 'alice' }, 'general');
    const bob = t.open({ userId: 'bob' });

    // One burst: a join and five chats (six envelopes) against a bucket of five.
    bob.session.join('general');
    const ids = [1, 2, 3, 4, 5].map((i) => bob.session.send('general', `burst ${i}`, `burst-${i}`));
    const notice = await errorNotice(bob, 'RATE_LIMITED', () => true, 'the burst');
    expect(notice.clientMsgId).toBe(ids[4]);
    expect(notice.room).toBe('general');

    await bob.waitForCount((e) => e.type === 'message', 4, 'own copies');
    expect(bob.contents('general')).toEqual(['burst 1', 'burst 2', 'burst 3', 'burst 4']);
    await alice.waitForCount((e) => e.type === 'message', 4, 'burst messages');
    expect(bob.of('error')).toHaveLength(1);

    // Refused envelopes take no token: retrying until one is accepted ends in about a second.
    const accepted = await waitFor(
      async () => {
        const answer = await answerTo(bob, 'general', 'after the refill');
        return answer.type === 'message' ? answer : undefined;
      },
      { timeoutMs: 3000, intervalMs: 100, what: 'a chat accepted once the bucket refills' },
    );
    expect(accepted.room).toBe('general');
    expect(bob.of('error').every((e) => e.notice.code === 'RATE_LIMITED')).toBe(true);
    await alice.waitFor((e) => e.type === 'message' && e.message.content === 'after the refill', 'the later message');
    expect(alice.contents('general')).not.toContain('burst 5');
  });
});

describe('TOO_MANY_ROOMS', () => {
  it('a third join with maxRoomsPerStream 2 is refused; leaving one room makes space again', async () => {
    const t = await start({ maxRoomsPerStream: 2 });
    const bob = await t.joined({ userId: 'bob' }, 'one');
    bob.session.join('two');
    await bob.joined('two');

    bob.session.join('three');
    const notice = await errorNotice(bob, 'TOO_MANY_ROOMS', (n) => n.room === 'three', 'the third join');
    expect(notice.clientMsgId).toBe('');
    expect(bob.of('joined', 'three')).toEqual([]);
    await expectStreamWorks(bob, 'two');

    // The bound is per stream: the same user on another stream may join it.
    const other = await t.joined({ userId: 'bob' }, 'three');
    await expectStreamWorks(other, 'three');

    bob.session.leave('one');
    await bob.waitFor((e) => e.type === 'user_left' && e.room === 'one', 'the leave of #one');
    bob.session.join('three');
    await bob.joined('three');
    await expectStreamWorks(bob, 'three');
    expect(bob.of('error')).toHaveLength(1);
  });
});

describe('what the server fills in', () => {
  it('a chat with an empty user_id is accepted; user_id, display_name, seq and timestamp come from the server', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice', displayName: 'Alice' }, 'general');
    const bob = await t.joined({ userId: 'bob', displayName: 'Bob' }, 'general');
    const bobAck = await bob.joined('general');

    const before = Date.now();
    alice.session.envelope({
      message: {
        $case: 'chat',
        value: {
          userId: '',
          room: 'general',
          content: 'who am I?',
          clientMsgId: 'm-1',
          timestampUtc: 42,
          displayName: 'Mallory',
          seq: 999,
        },
      },
    });
    const received = await bob.waitFor((e) => e.type === 'message' && e.message.clientMsgId === 'm-1', 'the message');
    const own = await alice.waitFor((e) => e.type === 'message' && e.message.clientMsgId === 'm-1', 'the own copy');
    const after = Date.now();

    for (const event of [received, own]) {
      if (event.type !== 'message') throw new Error(`expected a message, got ${event.type}`);
      const m = event.message;
      expect({ userId: m.userId, displayName: m.displayName, room: m.room, content: m.content }).toEqual({
        userId: 'alice',
        displayName: 'Alice',
        room: 'general',
        content: 'who am I?',
      });
      // Bob's join was the event after his ack's last_seq; the message is the next one.
      expect(m.seq).toBe(bobAck.lastSeq + 2);
      expect(m.timestampUtc).toBeGreaterThanOrEqual(before);
      expect(m.timestampUtc).toBeLessThanOrEqual(after);
    }
    expect(alice.of('error')).toEqual([]);
  });
});

// --- A raw Channel stream, for what the typed client cannot send (bytes that are not UTF-8). ---

function joinRequest(userId: string, room: string) {
  return JoinRequest.fromPartial({ userId, room });
}

/** A ClientEnvelope{chat} built by hand, so its content field can hold any bytes. */
function rawChat(room: string, content: Uint8Array, clientMsgId: string): Uint8Array {
  const w = new BinaryWriter();
  w.uint32((2 << 3) | 2).fork(); // ClientEnvelope.chat = 2, length-delimited
  w.uint32((2 << 3) | 2).string(room); // ChatPayload.room = 2
  w.uint32((3 << 3) | 2).bytes(content); // ChatPayload.content = 3
  w.uint32((7 << 3) | 2).string(clientMsgId); // ChatPayload.client_msg_id = 7
  w.join();
  return w.finish();
}

/** A Channel call through @grpc/grpc-js that writes pre-encoded envelopes and decodes every event. */
class RawChannel {
  readonly events: ServerEvent[] = [];
  private ended: StatusObject | undefined;

  private constructor(
    private readonly client: Client,
    private readonly call: ClientDuplexStream<Uint8Array, ServerEvent>,
  ) {
    call.on('data', (event: ServerEvent) => this.events.push(event));
    call.on('status', (status: StatusObject) => (this.ended = status));
    call.on('error', () => undefined); // the status event carries it
  }

  static open(address: string): RawChannel {
    const client = new Client(address, credentials.createInsecure());
    const call = client.makeBidiStreamRequest(
      '/chat.v1.ChatService/Channel',
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => ServerEvent.decode(bytes),
    );
    return new RawChannel(client, call);
  }

  write(bytes: Uint8Array): void {
    this.call.write(bytes);
  }

  waitFor(predicate: (event: ServerEvent) => boolean, what: string): Promise<ServerEvent> {
    return waitFor(() => this.events.find(predicate), { what });
  }

  /** Half-closes. */
  end(): void {
    this.call.end();
  }

  status(): Promise<StatusObject> {
    return waitFor(() => this.ended, { what: 'the raw stream to end' });
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
