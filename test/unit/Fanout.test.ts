import { describe, expect, it } from '@jest/globals';
import type { DomainEvent } from '../../src/domain/events.js';
import { Hub } from '../../src/domain/Hub.js';
import { defaultLimits } from '../../src/domain/limits.js';
import type { Session } from '../../src/domain/Session.js';
import { waitFor } from '../helpers/waitFor.js';

// JSON frames; a batch is {"batch":[...frames]} with nested batches spliced flat, like encodeBatch.
type Frame = DomainEvent | { batch: DomainEvent[] };
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (f: Uint8Array) => JSON.parse(new TextDecoder().decode(f)) as Frame;
const encode = (e: DomainEvent) => bytes(e);
const encodeBatch = (frames: Uint8Array[]) =>
  bytes({ batch: frames.map(parse).flatMap((f) => ('batch' in f ? f.batch : [f])) });

/** Every frame queued for a session, and the events inside them in order. */
const readers = new WeakMap<Session, AsyncIterator<Uint8Array>>();
async function drain(session: Session): Promise<{ frames: Frame[]; events: DomainEvent[] }> {
  const frames: Frame[] = [];
  let it = readers.get(session);
  if (it === undefined) readers.set(session, (it = session.queue[Symbol.asyncIterator]()));
  while (session.queue.length > 0) frames.push(parse((await it.next()).value as Uint8Array));
  return { frames, events: frames.flatMap((f) => ('batch' in f ? f.batch : [f])) };
}
const seqs = (events: DomainEvent[]) =>
  events.flatMap((e) => (e.kind === 'user_joined' || e.kind === 'user_left' ? [e.seq] : e.kind === 'message' ? [e.message.seq] : []));

function hubWith(presenceCoalesceMembers: number, coalesceMs = 0) {
  return new Hub({ limits: { ...defaultLimits, presenceCoalesceMembers, ratePerSecond: 0, coalesceMs }, encode, encodeBatch });
}
const join = (hub: Hub, userId: string, batchEvents: boolean) => {
  const s = hub.openSession();
  hub.join(s, { userId, room: 'big', displayName: '', afterSeq: 0, history: 0, epoch: '', batchEvents });
  return s;
};

describe('coalesced presence in big rooms', () => {
  it('joins in one event-loop turn reach a batching member as one frame, in seq order, each joiner from its own notice on', async () => {
    const hub = hubWith(2);
    const old = [join(hub, 'a', true), join(hub, 'b', false)];
    await new Promise((r) => setImmediate(r)); // let the first joins go out
    for (const s of old) await drain(s);

    const storm = ['c', 'd', 'e', 'f'].map((u, i) => join(hub, u, i % 2 === 0));
    // Nothing of the storm is fanned out yet, beyond each joiner's own JoinAck.
    expect((await drain(old[0]!)).frames).toEqual([]);
    await waitFor(() => old[0]!.queue.length > 0, { what: 'the coalesced presence' });

    const a = await drain(old[0]!);
    expect(a.frames).toHaveLength(1);
    expect(seqs(a.events)).toEqual([3, 4, 5, 6]);
    const b = await drain(old[1]!); // does not take batches: one frame per event
    expect(b.frames).toHaveLength(4);
    expect(seqs(b.events)).toEqual([3, 4, 5, 6]);

    // A joiner in the storm gets its JoinAck, then exactly the events after it.
    for (const [i, s] of storm.entries()) {
      const { events } = await drain(s);
      expect(events[0]!.kind).toBe('ack');
      expect(events[0]!.kind === 'ack' && events[0]!.lastSeq).toBe(2 + i);
      expect(seqs(events)).toEqual([3, 4, 5, 6].slice(i));
    }
    for (const s of [...old, ...storm]) hub.closeSession(s);
    hub.dispose();
  });

  it('a message after pending joins flushes them first, so nobody sees seq out of order', async () => {
    const hub = hubWith(1);
    const a = join(hub, 'a', true);
    const b = join(hub, 'b', true);
    hub.publish(a, { userId: 'a', room: 'big', content: 'hi', clientMsgId: '', traceContext: {} });
    expect(seqs((await drain(a)).events)).toEqual([1, 2, 3]);
    expect(seqs((await drain(b)).events)).toEqual([2, 3]);
    hub.closeSession(a);
    hub.closeSession(b);
    hub.dispose();
  });

  it('below the threshold presence goes out at once, one frame per event', async () => {
    const hub = hubWith(100);
    const a = join(hub, 'a', true);
    join(hub, 'b', true);
    const { frames } = await drain(a);
    expect(frames.map((f) => ('batch' in f ? 'batch' : f.kind))).toEqual(['ack', 'user_joined', 'user_joined']);
    hub.dispose();
  });
});

describe('lingering room events (coalesceMs)', () => {
  it('holds room events for batching members and sends them as one batch; others get each at once', async () => {
    const hub = hubWith(1_000_000, 20);
    const a = join(hub, 'a', true);
    const b = join(hub, 'b', false);
    await waitFor(() => a.queue.length >= 2, { what: 'the lingering joins' }); // ack, then the joins' batch
    await drain(a);
    await drain(b);
    for (const text of ['one', 'two', 'three']) hub.publish(b, { userId: 'b', room: 'big', content: text, clientMsgId: '', traceContext: {} });
    expect(seqs((await drain(b)).events)).toEqual([3, 4, 5]); // at once
    expect((await drain(a)).frames).toEqual([]); // held
    await waitFor(() => a.queue.length > 0, { what: 'the held messages' });
    const { frames, events } = await drain(a);
    expect(frames).toHaveLength(1);
    expect(seqs(events)).toEqual([3, 4, 5]);
    hub.closeSession(a);
    hub.closeSession(b);
    hub.dispose();
  });
});

