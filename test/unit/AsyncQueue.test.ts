import { describe, expect, it } from '@jest/globals';
import { AsyncQueue, QueueAbortedError } from '../../src/lib/AsyncQueue.js';

/** Lets every pending promise callback run (one macrotask turn), without waiting on time. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Reads the queue to its end; returns what was read and how it ended. */
async function readAll<T>(queue: AsyncQueue<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of queue) items.push(item);
    return { items, error: undefined };
  } catch (error) {
    return { items, error };
  }
}

/** Tracks whether a promise has resolved yet. */
function track(promise: Promise<unknown>): { readonly done: boolean } {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

describe('AsyncQueue', () => {
  it('delivers pushed items in order, to a consumer that waits before or after the push', async () => {
    const queue = new AsyncQueue<number>();
    const it1 = queue[Symbol.asyncIterator]();
    const waiting = it1.next();
    queue.push(1);
    expect(await waiting).toEqual({ value: 1, done: false });
    queue.push(2);
    queue.push(3);
    expect(await it1.next()).toEqual({ value: 2, done: false });
    expect(await it1.next()).toEqual({ value: 3, done: false });
    expect(queue.length).toBe(0);
  });

  it('close() lets the consumer drain what is queued, then ends it normally', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a', 1);
    queue.push('b', 2);
    queue.close();
    expect(queue.closed).toBe(true);
    expect(queue.length).toBe(2);
    expect(await readAll(queue)).toEqual({ items: ['a', 'b'], error: undefined });
  });

  it('close(error) lets the consumer drain what is queued, then throws that error', async () => {
    const queue = new AsyncQueue<string>();
    const reading = readAll(queue);
    queue.push('a');
    queue.push('b');
    const reason = new Error('shutting down');
    queue.close(reason);
    const { items, error } = await reading;
    expect(items).toEqual(['a', 'b']);
    expect(error).toBe(reason);
  });

  it('close() ends a consumer that is waiting on an empty queue', async () => {
    const queue = new AsyncQueue<string>();
    const reading = readAll(queue);
    await settle();
    queue.close();
    expect(await reading).toEqual({ items: [], error: undefined });
  });

  it('abort() drops what is queued and throws QueueAbortedError into the consumer', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a', 10);
    queue.push('b', 10);
    queue.abort();
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.closed).toBe(true);
    const { items, error } = await readAll(queue);
    expect(items).toEqual([]);
    expect(error).toBeInstanceOf(QueueAbortedError);
    expect((error as Error).name).toBe('QueueAbortedError');
  });

  it('abort(error) wakes a waiting consumer with that error', async () => {
    const queue = new AsyncQueue<string>();
    const reading = readAll(queue);
    await settle();
    const reason = new Error('cut off');
    queue.abort(reason);
    expect(await reading).toEqual({ items: [], error: reason });
  });

  it('abort() after close() drops what close would have let through', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a');
    queue.close();
    const reason = new Error('cancelled');
    queue.abort(reason);
    expect(queue.length).toBe(0);
    expect(await readAll(queue)).toEqual({ items: [], error: reason });
  });

  it('close() twice is safe and the first call decides how the consumer ends', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a');
    const first = new Error('first');
    queue.close(first);
    queue.close(new Error('second'));
    queue.close();
    expect(await readAll(queue)).toEqual({ items: ['a'], error: first });
  });

  it('abort() twice is safe and the first error wins', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a');
    const first = new Error('first');
    queue.abort(first);
    queue.abort(new Error('second'));
    expect(await readAll(queue)).toEqual({ items: [], error: first });
  });

  it('refuses pushes once closed or aborted', () => {
    const closed = new AsyncQueue<string>();
    closed.close();
    expect(closed.push('late', 1)).toBe(false);
    expect(closed.length).toBe(0);
    expect(closed.bytes).toBe(0);

    const aborted = new AsyncQueue<string>();
    aborted.abort();
    expect(aborted.push('late', 1)).toBe(false);
    expect(aborted.length).toBe(0);
  });

  it('a push past the item bound is refused and leaves the queue unchanged', async () => {
    const queue = new AsyncQueue<string>({ maxItems: 2, maxBytes: Infinity });
    expect(queue.push('a', 3)).toBe(true);
    expect(queue.push('b', 4)).toBe(true);
    expect(queue.push('c', 5)).toBe(false);
    expect(queue.length).toBe(2);
    expect(queue.bytes).toBe(7);
    expect(queue.closed).toBe(false);
    queue.close();
    expect((await readAll(queue)).items).toEqual(['a', 'b']);
  });

  it('a push past the byte bound is refused and leaves the queue unchanged', async () => {
    const queue = new AsyncQueue<string>({ maxItems: Infinity, maxBytes: 10 });
    expect(queue.push('a', 6)).toBe(true);
    expect(queue.push('b', 5)).toBe(false);
    expect(queue.length).toBe(1);
    expect(queue.bytes).toBe(6);
    // Exactly at the bound is allowed.
    expect(queue.push('c', 4)).toBe(true);
    expect(queue.bytes).toBe(10);
    expect(queue.push('d', 1)).toBe(false);
    queue.close();
    expect((await readAll(queue)).items).toEqual(['a', 'c']);
  });

  it('refuses a single item larger than the byte bound even when empty', () => {
    const queue = new AsyncQueue<string>({ maxItems: 10, maxBytes: 10 });
    expect(queue.push('huge', 11)).toBe(false);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('consuming frees room under the bounds for later pushes', async () => {
    const queue = new AsyncQueue<number>({ maxItems: 2, maxBytes: 100 });
    queue.push(1, 50);
    queue.push(2, 50);
    expect(queue.push(3, 1)).toBe(false);
    const iterator = queue[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(1);
    expect(queue.bytes).toBe(50);
    expect(queue.push(3, 50)).toBe(true);
    expect((await iterator.next()).value).toBe(2);
    expect((await iterator.next()).value).toBe(3);
  });

  it("a consumer's break frees the queue: it is ended, emptied and refuses pushes", async () => {
    const queue = new AsyncQueue<number>();
    for (let i = 1; i <= 5; i++) queue.push(i, 10);
    const seen: number[] = [];
    for await (const item of queue) {
      seen.push(item);
      if (item === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(queue.closed).toBe(true);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.push(6, 1)).toBe(false);
  });

  it('an error thrown in the consumer frees the queue too', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1, 10);
    queue.push(2, 10);
    await expect(
      (async () => {
        for await (const _ of queue) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(queue.closed).toBe(true);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('tells onRelease the bytes of every item that leaves: taken in a batch, or dropped by abort', async () => {
    const released: number[] = [];
    const queue = new AsyncQueue<number>({ maxItems: 10, maxBytes: 100 }, (bytes) => released.push(bytes));
    queue.push(1, 10);
    queue.push(2, 20);
    queue.push(3, 30);
    const batches = queue.batches(35);
    expect((await batches.next()).value).toEqual([1, 2]);
    expect(released).toEqual([30]);
    queue.push(4, 5);
    queue.abort();
    expect(released).toEqual([30, 35]);
    await expect(batches.next()).rejects.toBeInstanceOf(QueueAbortedError);
    expect(released).toEqual([30, 35]); // nothing twice
  });

  it('whenEnded() waits while the queue is open and resolves on close or abort', async () => {
    const open = new AsyncQueue<number>();
    const ended = track(open.whenEnded());
    open.push(1);
    await settle();
    expect(ended.done).toBe(false);
    open.close();
    await settle();
    expect(ended.done).toBe(true);
    await open.whenEnded(); // and at once, after

    const aborted = new AsyncQueue<number>();
    const onAbort = track(aborted.whenEnded());
    aborted.abort();
    await settle();
    expect(onAbort.done).toBe(true);
  });

  it('whenAborted() waits through a close (the consumer still drains) and resolves on abort', async () => {
    const queue = new AsyncQueue<number>();
    const aborted = track(queue.whenAborted());
    queue.push(1);
    queue.close();
    await settle();
    expect(aborted.done).toBe(false);
    queue.abort();
    await settle();
    expect(aborted.done).toBe(true);
    await queue.whenAborted();
  });

  it('has a single consumer: a second iteration is refused and the first goes on', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    const first = queue[Symbol.asyncIterator]();
    expect((await first.next()).value).toBe(1);
    const second = queue[Symbol.asyncIterator]();
    await expect(second.next()).rejects.toThrow('single consumer');
    expect((await first.next()).value).toBe(2);
    expect(queue.closed).toBe(false);
  });

  it('keeps order and byte accounting over many items (past internal compaction)', async () => {
    const queue = new AsyncQueue<number>({ maxItems: 100, maxBytes: 1000 });
    const iterator = queue[Symbol.asyncIterator]();
    let next = 0;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 50; i++) expect(queue.push(round * 50 + i, 3)).toBe(true);
      for (let i = 0; i < 50; i++) expect((await iterator.next()).value).toBe(next++);
      expect(queue.length).toBe(0);
      expect(queue.bytes).toBe(0);
    }
  });
});
