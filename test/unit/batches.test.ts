import { describe, expect, it } from '@jest/globals';
import { ServerEvent } from '../../gen/chat/v1/chat.js';
import { AsyncQueue } from '../../src/lib/AsyncQueue.js';
import { encodeEvent } from '../../src/server/encodeEvent.js';
import { encodeBatch } from '../../src/server/encodeBatch.js';

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
