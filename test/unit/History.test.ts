import { describe, expect, it } from '@jest/globals';
import type { ChatMessage, SequencedEvent } from '../../src/domain/events.js';
import { History, type HeldEvent } from '../../src/domain/History.js';

function message(seq: number, content = `m${seq}`): SequencedEvent {
  const m: ChatMessage = {
    room: 'r',
    seq,
    userId: 'u',
    displayName: 'U',
    content,
    timestampUtc: 0,
    clientMsgId: '',
    traceContext: {},
  };
  return { kind: 'message', message: m };
}

function presence(seq: number, kind: 'user_joined' | 'user_left' = 'user_joined'): SequencedEvent {
  return { kind, room: 'r', seq, userId: 'u', displayName: 'U' };
}

/** A held event whose frame is `bytes` long. */
function held(event: SequencedEvent, bytes = 10): HeldEvent {
  return { event, frame: new Uint8Array(bytes) };
}

const seqs = (entries: HeldEvent[]) =>
  entries.map(({ event }) => (event.kind === 'message' ? event.message.seq : event.seq));

describe('History', () => {
  it('holds nothing at first', () => {
    const history = new History(10, 1000);
    expect(history.length).toBe(0);
    expect(history.bytes).toBe(0);
    expect(history.oldestSeq).toBeUndefined();
    expect(history.since(0)).toEqual([]);
    expect(history.lastMessages(5)).toEqual([]);
  });

  it('is bounded by count: appending past it evicts the oldest', () => {
    const history = new History(3, Infinity);
    for (let seq = 1; seq <= 5; seq++) history.append(held(message(seq), 7));
    expect(history.length).toBe(3);
    expect(history.bytes).toBe(21);
    expect(history.oldestSeq).toBe(3);
    expect(seqs(history.since(0))).toEqual([3, 4, 5]);
  });

  it('is bounded by bytes: appending past it evicts the oldest until it fits', () => {
    const history = new History(100, 25);
    history.append(held(message(1), 10));
    history.append(held(message(2), 10));
    expect(history.length).toBe(2);
    history.append(held(message(3), 10)); // 30 > 25: drop seq 1
    expect(history.bytes).toBe(20);
    expect(seqs(history.since(0))).toEqual([2, 3]);
    history.append(held(message(4), 25)); // only seq 4 fits
    expect(history.bytes).toBe(25);
    expect(history.oldestSeq).toBe(4);
    expect(seqs(history.since(0))).toEqual([4]);
  });

  it('holds an event exactly at the byte bound, and none larger than it', () => {
    const history = new History(100, 25);
    history.append(held(message(1), 25));
    expect(history.length).toBe(1);
    history.append(held(message(2), 26));
    expect(history.length).toBe(0);
    expect(history.bytes).toBe(0);
    expect(history.oldestSeq).toBeUndefined();
  });

  it('holds nothing when either bound is 0', () => {
    const noEvents = new History(0, 1000);
    noEvents.append(held(message(1)));
    expect(noEvents.length).toBe(0);
    expect(noEvents.oldestSeq).toBeUndefined();

    const noBytes = new History(1000, 0);
    noBytes.append(held(message(1)));
    expect(noBytes.length).toBe(0);
    expect(noBytes.since(0)).toEqual([]);
  });

  it('since(n) returns the held events after seq n, oldest first, whatever their kind', () => {
    const history = new History(100, Infinity);
    history.append(held(presence(1)));
    history.append(held(message(2)));
    history.append(held(message(3)));
    history.append(held(presence(4, 'user_left')));
    expect(seqs(history.since(0))).toEqual([1, 2, 3, 4]);
    expect(seqs(history.since(2))).toEqual([3, 4]);
    expect(seqs(history.since(3))).toEqual([4]);
    expect(history.since(4)).toEqual([]);
    expect(history.since(99)).toEqual([]);
  });

  it('since(n) returns the very entries appended, frames included (replayed as they were sent)', () => {
    const history = new History(100, Infinity);
    const entry = held(message(1), 3);
    history.append(entry);
    expect(history.since(0)[0]).toBe(entry);
  });

  it('since(n) before the oldest held returns everything held', () => {
    const history = new History(2, Infinity);
    for (let seq = 1; seq <= 5; seq++) history.append(held(message(seq)));
    expect(history.oldestSeq).toBe(4);
    expect(seqs(history.since(1))).toEqual([4, 5]);
  });

  it('lastMessages(n) returns the last n chat messages, oldest first, skipping joins and leaves', () => {
    const history = new History(100, Infinity);
    history.append(held(presence(1)));
    history.append(held(message(2, 'a')));
    history.append(held(presence(3)));
    history.append(held(message(4, 'b')));
    history.append(held(message(5, 'c')));
    history.append(held(presence(6, 'user_left')));
    const contents = (n: number) => history.lastMessages(n).map((m) => m.content);
    expect(contents(2)).toEqual(['b', 'c']);
    expect(contents(3)).toEqual(['a', 'b', 'c']);
    expect(contents(10)).toEqual(['a', 'b', 'c']);
    expect(contents(0)).toEqual([]);
    expect(history.lastMessages(1)[0]?.seq).toBe(5);
  });

  it('lastMessages(n) never returns evicted messages', () => {
    const history = new History(2, Infinity);
    for (let seq = 1; seq <= 4; seq++) history.append(held(message(seq)));
    expect(history.lastMessages(10).map((m) => m.seq)).toEqual([3, 4]);
  });

  it('oldestSeq follows eviction', () => {
    const history = new History(2, Infinity);
    history.append(held(message(7)));
    expect(history.oldestSeq).toBe(7);
    history.append(held(message(8)));
    expect(history.oldestSeq).toBe(7);
    history.append(held(message(9)));
    expect(history.oldestSeq).toBe(8);
  });

  it('stays correct over many appends (past internal compaction)', () => {
    const history = new History(10, 95);
    for (let seq = 1; seq <= 2_000; seq++) history.append(held(message(seq), seq % 3 === 0 ? 20 : 5));
    // Count and bytes both bound it; the byte accounting must match what is held.
    const entries = history.since(0);
    expect(entries.length).toBe(history.length);
    expect(entries.length).toBeLessThanOrEqual(10);
    expect(history.bytes).toBe(entries.reduce((sum, e) => sum + e.frame.byteLength, 0));
    expect(history.bytes).toBeLessThanOrEqual(95);
    expect(seqs(entries).at(-1)).toBe(2_000);
    expect(seqs(entries)).toEqual(Array.from({ length: entries.length }, (_, i) => 2_001 - entries.length + i));
    expect(history.oldestSeq).toBe(seqs(entries)[0]);
  });
});
