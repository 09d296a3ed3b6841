import { describe, expect, it } from '@jest/globals';
import { ServerNotice_Type } from '../../gen/chat/v1/chat.js';
import { ChatConnection } from '../../src/client/ChatConnection.js';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import type { ConnectionEvent } from '../../src/client/ConnectionEvent.js';
import { joined, notice } from '../ui/events.js';

/**
 * A connection never started, fed events as its stream would pass them: what it
 * makes of each one, without a server (handle() is private; this reaches it).
 */
function fed() {
  const connection = new ChatConnection({ address: '127.0.0.1:1', identity: { userId: 'me' } });
  const events: ConnectionEvent[] = [];
  connection.subscribe((e) => events.push(e));
  const feed = (...chat: ConnectionEvent[]) => {
    for (const e of chat) (connection as unknown as { handle(event: ChatEvent): void }).handle(e as ChatEvent);
  };
  return { connection, events, feed };
}

const errorAbout = (room: string, code: string, clientMsgId: string): ConnectionEvent => ({
  type: 'error',
  room,
  notice: notice({ type: ServerNotice_Type.TYPE_ERROR, room, code, clientMsgId, message: code }),
});

describe('ChatConnection, fed events', () => {
  it('takes an error before the JoinAck as a refused join only when it is about no send', () => {
    const { connection, feed } = fed();
    connection.join('lobby');
    feed(errorAbout('lobby', 'RATE_LIMITED', 'some-send'));
    expect(connection.joinedRooms).toEqual(['lobby']);
    feed(errorAbout('lobby', 'RATE_LIMITED', ''));
    expect(connection.joinedRooms).toEqual([]);
  });

  it('takes each abuse limit on joins as a refused join (SERVER_ROOMS_FULL, ROOM_FULL, ROOM_BUSY)', () => {
    for (const code of ['SERVER_ROOMS_FULL', 'ROOM_FULL', 'ROOM_BUSY']) {
      const { connection, events, feed } = fed();
      connection.join('lobby');
      feed(errorAbout('lobby', code, ''));
      expect(connection.joinedRooms).toEqual([]);
      expect(events.some((e) => e.type === 'error' && e.notice.code === code)).toBe(true);
    }
  });

  it('ends a rejoin replay when MISSED_EVENTS says everything up to the ack was lost', () => {
    const { connection, events, feed } = fed();
    connection.join('lobby');
    feed(joined('lobby', { lastSeq: 5, epoch: 'e1' }));
    // The rejoin after a reconnect: 5 events happened, none is held any more.
    feed(joined('lobby', { lastSeq: 10, epoch: 'e1', recovered: false }));
    feed({ type: 'notice', room: 'lobby', notice: notice({ room: 'lobby', code: 'MISSED_EVENTS', missedCount: 5 }) });
    expect(events.filter((e) => e.type === 'missed' || e.type === 'resumed')).toEqual([
      { type: 'missed', room: 'lobby', missed: 5, restarted: false },
      { type: 'resumed', room: 'lobby', restored: 0, complete: false },
    ]);
  });

  it('refuses a message over maxContentBytes, and every send once closed', async () => {
    const { connection } = fed();
    connection.join('lobby');
    expect(() => connection.send('lobby', 'é'.repeat(2049))).toThrow('message is 4098 bytes, more than 4096');
    const small = new ChatConnection({ address: '127.0.0.1:1', identity: { userId: 'me' }, maxContentBytes: 10 });
    small.join('lobby');
    expect(() => small.send('lobby', 'x'.repeat(11))).toThrow('message is 11 bytes, more than 10');
    await connection.close(0);
    await small.close(0);
    expect(() => connection.send('lobby', 'late')).toThrow('the connection is closed');
  });
});
