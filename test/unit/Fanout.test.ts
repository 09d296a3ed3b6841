import { describe, expect, it } from '@jest/globals';
import type { DomainEvent } from '../../src/domain/events.js';
import { Fanout } from '../../src/domain/Fanout.js';
import { Hub } from '../../src/domain/Hub.js';
import { defaultLimits } from '../../src/domain/limits.js';
import { QueueBudget } from '../../src/domain/QueueBudget.js';
import { Session } from '../../src/domain/Session.js';
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

/** presenceCoalesceMs 0: a big room holds presence to the end of the event-loop turn. */
function hubWith(presenceCoalesceMembers: number, coalesceMs = 0, presenceCoalesceMs = 0) {
  return new Hub({ limits: { ...defaultLimits, presenceCoalesceMembers, presenceCoalesceMs, ratePerSecond: 0, coalesceMs }, encode, encodeBatch });
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

describe('presence held in proportion to the room (presenceCoalesceMs per 1,000 members)', () => {
  it('a big room holds a storm of joins longer and sends it as one run', async () => {
    // 100 members at 10,000 ms per 1,000: each later join is held for a second (the cap).
    const hub = hubWith(2, 0, 10_000);
    const room = Array.from({ length: 100 }, (_, i) => join(hub, `m${i}`, true));
    const seen: DomainEvent[] = [];
    const settled = async () => {
      seen.push(...(await drain(room[0]!)).events);
      return seqs(seen).at(-1) === 100;
    };
    await waitFor(settled, { timeoutMs: 3000, what: 'the first hundred joins' });
    await Promise.all(room.map(drain)); // one flush reached every member at once
    const storm = Array.from({ length: 50 }, (_, i) => join(hub, `late${i}`, true));
    await new Promise((r) => setImmediate(r)); // past this event-loop turn, far short of the hold
    expect((await drain(room[0]!)).frames).toEqual([]);
    await waitFor(() => room[0]!.queue.length > 0, { timeoutMs: 3000, what: 'the held storm' });
    const { frames, events } = await drain(room[0]!);
    expect(frames).toHaveLength(1);
    expect(seqs(events)).toEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
    for (const s of [...room, ...storm]) hub.closeSession(s);
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


describe('runs for sessions that take no batches (encodeRun)', () => {
  // A run is {"run":[...frames]}; the adapter's real one lays frames out as gRPC messages.
  const encodeRun = (frames: Uint8Array[]) => bytes({ run: frames.map(parse) });
  const events = (f: Frame | { run: DomainEvent[] }): DomainEvent[] => ('run' in f ? f.run : 'batch' in f ? f.batch : [f]);

  it('a room packs its held events once per encoder: batching members get a batch, the others a run', async () => {
    const hub = new Hub({ limits: { ...defaultLimits, presenceCoalesceMembers: 1_000_000, ratePerSecond: 0, coalesceMs: 20 }, encode, encodeBatch, encodeRun });
    const a = join(hub, 'a', true);
    const b = join(hub, 'b', false);
    const c = join(hub, 'c', false);
    await waitFor(() => c.queue.length >= 2, { what: 'the lingering joins' });
    for (const s of [a, b, c]) await drain(s);
    for (const text of ['one', 'two', 'three']) hub.publish(b, { userId: 'b', room: 'big', content: text, clientMsgId: '', traceContext: {} });
    expect(b.queue.length).toBe(0); // held for everyone now
    await waitFor(() => a.queue.length > 0 && b.queue.length > 0 && c.queue.length > 0, { what: 'the held messages' });
    const taken = await Promise.all([a, b, c].map(drain));
    expect(taken.map((t) => t.frames.length)).toEqual([1, 1, 1]);
    expect(Object.keys(taken[0]!.frames[0]!)).toEqual(['batch']);
    expect(Object.keys(taken[1]!.frames[0]!)).toEqual(['run']);
    for (const t of taken) expect(seqs(t.frames.flatMap(events))).toEqual([4, 5, 6]);
    // One run, shared: the same bytes for both.
    for (const s of [a, b, c]) hub.closeSession(s);
    hub.dispose();
  });
});

describe('Fanout deadlines and run size', () => {
  const budget = new QueueBudget(Infinity);
  const session = (packRun?: (frames: Uint8Array[]) => Uint8Array) => {
    const s = new Session(1, { ...defaultLimits }, encode, budget, { cutOff: () => {} });
    s.packRun = packRun;
    return s;
  };
  const pack = (frames: Uint8Array[]) => bytes({ batch: frames.map(parse) });
  const frame = (n: number) => bytes({ kind: 'user_joined', room: 'r', seq: n, userId: 'u', displayName: 'u' });

  it('an event held briefly brings forward the flush of events held longer before it', async () => {
    const fanout = new Fanout();
    const s = session(pack);
    fanout.add(s);
    fanout.send(frame(1), 60_000);
    fanout.send(frame(2), 5);
    await waitFor(() => s.queue.length > 0, { timeoutMs: 1000, what: 'the flush at the earlier deadline' });
    expect(seqs((await drain(s)).events)).toEqual([1, 2]);
    fanout.remove(s);
  });

  it('flushes once runBytes are pending, so a run never holds more than that (a bigger frame goes alone)', async () => {
    const one = frame(1).byteLength;
    const fanout = new Fanout(3 * one);
    const s = session(pack);
    fanout.add(s);
    for (let n = 1; n <= 7; n++) fanout.send(frame(n), 60_000);
    // Runs of three go out as soon as they are full; the seventh waits.
    const { frames, events } = await drain(s);
    expect(frames).toHaveLength(2);
    expect(seqs(events)).toEqual([1, 2, 3, 4, 5, 6]);
    const big = bytes({ kind: 'user_joined', room: 'r', seq: 8, userId: 'u'.repeat(4 * one), displayName: 'u' });
    fanout.send(big, 60_000);
    const after = await drain(s);
    expect(after.frames.map((f) => ('batch' in f ? 'run' : 'frame'))).toEqual(['frame', 'frame']);
    expect(seqs(after.events)).toEqual([7, 8]);
    fanout.remove(s);
  });

  it('a session without a run encoder gets every frame at once, however long the others are held', async () => {
    const fanout = new Fanout();
    const plain = session();
    const packed = session(pack);
    fanout.add(plain);
    fanout.add(packed);
    fanout.send(frame(1), 60_000);
    expect(plain.queue.length).toBe(1);
    expect(packed.queue.length).toBe(0);
    fanout.remove(packed); // removing delivers what it is owed
    expect(seqs((await drain(packed)).events)).toEqual([1]);
    fanout.remove(plain);
  });
});
