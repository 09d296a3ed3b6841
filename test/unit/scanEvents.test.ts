import { describe, expect, it } from '@jest/globals';
import { ServerEvent, ServerNotice_Type } from '../../gen/chat/v1/chat.js';
import { scanServerEvent, type ScannedEvent } from '../../bench/scanEvents.js';

/** The bench's loss, order and presence figures rest on this scanner: it must read what the generated code writes. */
function scan(event: ServerEvent): ScannedEvent[] {
  const seen: ScannedEvent[] = [];
  scanServerEvent(ServerEvent.encode(event).finish(), (e) => seen.push({ ...e }));
  return seen;
}

const message = (seq: number, content: string): ServerEvent => ({
  event: {
    $case: 'broadcast',
    value: { userId: 'm1', room: 'bench-0', content, timestampUtc: 1_764_200_000_000, seq, displayName: 'm1', clientMsgId: 'c-9', traceContext: { traceparent: '00-x' } },
  },
});

describe('the bench scanner', () => {
  it('reads a broadcast: seq (one byte up to past 2^32) and the sender, index and send time at the start of the content', () => {
    for (const seq of [1, 127, 128, 300, 70_000, 2 ** 31 + 5, 2 ** 40 + 3]) {
      expect(scan(message(seq, `7:1234:1764200000123456:xxxx`))).toEqual([
        { kind: 2, seq, noticeType: 0, members: 0, sender: 7, index: 1234, sentUs: 1_764_200_000_123_456 },
      ]);
    }
  });

  it('reads a JoinAck: last_seq and how many members it lists', () => {
    const members = Array.from({ length: 300 }, (_, i) => ({ userId: `m${i}`, displayName: `M ${i}` }));
    const ack: ServerEvent = {
      event: {
        $case: 'joined',
        value: { userId: 'm1', room: 'bench-0', welcomeMessage: 'hi', members, history: [message(4, '0:0:1:').event!.value as never], lastSeq: 4321, epoch: 'e1', recovered: false },
      },
    };
    expect(scan(ack)).toEqual([{ kind: 1, seq: 4321, noticeType: 0, members: 300, sender: 0, index: 0, sentUs: 0 }]);
  });

  it('reads notices: their type and seq', () => {
    const notice = (type: ServerNotice_Type, seq: number): ServerEvent => ({
      event: { $case: 'notice', value: { type, message: 'm2 joined #bench-0', userId: 'm2', room: 'bench-0', seq, displayName: 'm2', code: '', clientMsgId: '', missedCount: 0 } },
    });
    expect(scan(notice(ServerNotice_Type.TYPE_USER_JOINED, 9))).toMatchObject([{ kind: 3, noticeType: 1, seq: 9 }]);
    expect(scan(notice(ServerNotice_Type.TYPE_USER_LEFT, 200))).toMatchObject([{ kind: 3, noticeType: 2, seq: 200 }]);
  });

  it('reads every event of a batch, in order, and one event per call after a batch', () => {
    const events = [message(1, '0:0:10:'), message(2, '1:0:11:'), message(3, '0:1:12:')];
    const batch: ServerEvent = { event: { $case: 'batch', value: { events } } };
    expect(scan(batch).map((e) => [e.seq, e.sender, e.index, e.sentUs])).toEqual([
      [1, 0, 0, 10],
      [2, 1, 0, 11],
      [3, 0, 1, 12],
    ]);
    expect(scan(message(5, '2:3:4:'))).toHaveLength(1);
  });
});
