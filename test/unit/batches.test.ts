import { describe, expect, it } from '@jest/globals';
import { ServerEvent } from '../../gen/chat/v1/chat.js';
import { AsyncQueue } from '../../src/lib/AsyncQueue.js';
import { encodeEvent } from '../../src/server/encodeEvent.js';
import { encodeBatch, packFrames } from '../../src/server/encodeBatch.js';
import { frameMessages, frameWrites } from '../../src/server/frameMessages.js';

describe('AsyncQueue.batches', () => {
  it('yields everything queued at once, oldest first, capped by bytes and items but never empty', async () => {
    const queue = new AsyncQueue<string>();
    for (const [item, size] of [['a', 4], ['b', 4], ['c', 4], ['d', 20], ['e', 1]] as const) queue.push(item, size);
    queue.close();
    const seen: string[][] = [];
    for await (const batch of queue.batches(10, 3)) seen.push(batch);
    // a+b fit in 10 bytes, c would pass it; d alone passes the cap but goes on its own.
    expect(seen).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
    expect(queue.bytes).toBe(0);
  });

  it('a waiting consumer takes everything pushed before it runs, and later pushes make the next batch', async () => {
    const queue = new AsyncQueue<number>();
    const batches = queue.batches(Infinity)[Symbol.asyncIterator]();
    const first = batches.next();
    queue.push(1);
    queue.push(2);
    expect((await first).value).toEqual([1, 2]);
    const second = batches.next();
    queue.push(3);
    expect((await second).value).toEqual([3]);
  });
});

describe('encodeBatch', () => {
  it('packs encoded events into one ServerEvent that decodes to the same events in order', () => {
    const events = [1, 2, 300].map((seq) =>
      encodeEvent({
        kind: 'message',
        message: { room: 'r', seq, userId: 'u', displayName: 'U', content: 'é'.repeat(seq), timestampUtc: 7, clientMsgId: `m${seq}`, traceContext: {} },
      }),
    );
    const decoded = ServerEvent.decode(encodeBatch(events));
    expect(decoded.event?.$case).toBe('batch');
    const inner = decoded.event?.$case === 'batch' ? decoded.event.value.events : [];
    expect(inner.map((e) => ServerEvent.encode(e).finish())).toEqual(events.map((e) => new Uint8Array(e)));
  });
});

describe('encodeBatch of batches', () => {
  it('splices a frame that is itself a batch in flat, so batches never nest', () => {
    const frame = (seq: number) =>
      encodeEvent({ kind: 'user_joined', room: 'r', seq, userId: `u${seq}`, displayName: `U${seq}` });
    const inner = encodeBatch([frame(2), frame(3)]);
    const outer = ServerEvent.decode(encodeBatch([frame(1), inner, frame(4)]));
    const events = outer.event?.$case === 'batch' ? outer.event.value.events : [];
    expect(events.map((e) => (e.event?.$case === 'notice' ? e.event.value.seq : -1))).toEqual([1, 2, 3, 4]);
  });
});

describe('encodeEvent of a JoinAck', () => {
  it('splices cached member entries in and decodes to exactly what the generated encoder makes', () => {
    const members = [{ userId: 'a', displayName: 'Ä' }, { userId: 'b', displayName: 'B'.repeat(300) }];
    const ack = { kind: 'ack' as const, room: 'r', userId: 'a', welcome: 'hi', members, history: [], lastSeq: 9, epoch: 'e', recovered: true };
    const first = ServerEvent.decode(encodeEvent(ack));
    const again = ServerEvent.decode(encodeEvent(ack)); // from the cache
    expect(again).toEqual(first);
    expect(first.event?.$case === 'joined' && first.event.value).toMatchObject({ room: 'r', lastSeq: 9, epoch: 'e', recovered: true, members });
  });
});

describe('packFrames', () => {
  it('packs runs of small frames into one batch each and passes big frames through untouched', () => {
    const small = (seq: number) => encodeEvent({ kind: 'user_joined', room: 'r', seq, userId: 'u', displayName: 'U' });
    const big = encodeBatch(Array.from({ length: 400 }, (_, i) => small(i)));
    expect(big.byteLength).toBeGreaterThan(8 * 1024);
    const out = packFrames([small(1), small(2), big, small(3)]);
    expect(out).toHaveLength(3);
    expect(out[1]).toBe(big);
    expect(out[2]).toEqual(small(3));
    const first = ServerEvent.decode(out[0]!);
    expect(first.event?.$case === 'batch' && first.event.value.events.length).toBe(2);
  });

  it('passes a framed part (a room’s shared batch, already a gRPC message) through, however small', () => {
    const small = (seq: number) => encodeEvent({ kind: 'user_joined', room: 'r', seq, userId: 'u', displayName: 'U' });
    const shared = frameMessages([encodeBatch([small(2), small(3)])]);
    const out = packFrames([small(1), shared, small(4)]);
    expect(out).toHaveLength(3);
    expect(out[1]).toBe(shared);
    expect(frameWrites(out, 64 * 1024)).toHaveLength(1);
  });
});

describe('JoinAck member lists from the roster cache', () => {
  const ack = (members: Array<{ userId: string; displayName: string }>) => ({
    kind: 'ack' as const, room: 'r', userId: 'x', welcome: '', members, history: [], lastSeq: 0, epoch: '', recovered: false,
  });
  const listed = (bytes: Uint8Array) => {
    const e = ServerEvent.decode(bytes);
    return e.event?.$case === 'joined' ? e.event.value.members.map((m) => m.userId) : [];
  };
  it('stays exact as members join, leave from the middle, and rejoin', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((u) => ({ userId: u, displayName: u.toUpperCase() }));
    expect(listed(encodeEvent(ack([a!])))).toEqual(['a']);
    expect(listed(encodeEvent(ack([a!, b!, c!])))).toEqual(['a', 'b', 'c']);
    expect(listed(encodeEvent(ack([a!, c!])))).toEqual(['a', 'c']);
    expect(listed(encodeEvent(ack([a!, c!, d!])))).toEqual(['a', 'c', 'd']);
    const many = Array.from({ length: 600 }, (_, i) => ({ userId: `u${i}`, displayName: `User ${i}` }));
    expect(listed(encodeEvent(ack([a!, ...many])))).toEqual(['a', ...many.map((m) => m.userId)]);
    expect(listed(encodeEvent(ack([b!])))).toEqual(['b']);
  });
});
