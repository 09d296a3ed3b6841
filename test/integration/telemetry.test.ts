import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RawCall } from '../helpers/slowConsumer.rawCall.js';
import { NatsServer } from '../helpers/NatsServer.js';
import { TestServer } from '../helpers/testServer.js';
import type { EventLog } from '../helpers/EventLog.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The server's and client library's telemetry against in-memory exporters (as
 * nice-grpc-opentelemetry's own tests do): a server in this process with
 * telemetry on, clients of the library, spans and metrics read back directly.
 */
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const meterProvider = new MeterProvider({ readers: [reader] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
});
afterAll(async () => {
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  // Leave the process as it was for the next test file in this worker.
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
});

let t: TestServer;
afterEach(async () => {
  await t.stop();
  spans.reset();
});

const named = (name: string) => spans.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/** The value of a metric's data point with these attributes, from a fresh collection. */
async function metric(name: string, attributes: Record<string, unknown> = {}): Promise<number | undefined> {
  await reader.forceFlush();
  const last = metricExporter.getMetrics().at(-1) as ResourceMetrics | undefined;
  for (const scope of last?.scopeMetrics ?? []) {
    for (const m of scope.metrics) {
      if (m.descriptor.name !== name) continue;
      const point = m.dataPoints.find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
      if (point === undefined) return undefined;
      const value = point.value as number | { count: number };
      return typeof value === 'number' ? value : value.count;
    }
  }
  return undefined;
}

async function room(names: string[], roomName = 'lobby'): Promise<EventLog[]> {
  const logs: EventLog[] = [];
  for (const userId of names) logs.push(await t.joined({ userId }, roomName));
  return logs;
}

describe('telemetry (in-memory exporters)', () => {
  it('chat.deliver spans are bounded per frame: 2 of 4 receivers of a message with CHAT_TRACE_DELIVERIES=2', async () => {
    t = await TestServer.start({ telemetry: true, traceDeliveries: 2 });
    const [alice, ...others] = await room(['alice', 'bob', 'carol', 'dave']);
    const id = alice!.session.send('lobby', 'hi');
    for (const log of others) await log.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the message');
    await alice!.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the own copy');

    const [publish] = named('chat.publish');
    expect(publish!.attributes).toMatchObject({ 'chat.fanout.size': 4, 'chat.room': 'lobby', 'chat.seq': expect.any(Number) });
    await waitFor(() => named('chat.deliver').length >= 2, { what: 'two delivery spans' });
    // Two, not four: the first receiver's is the publish's child; the second's, the first's.
    const delivers = named('chat.deliver');
    expect(delivers).toHaveLength(2);
    const first = delivers.find((d) => parentOf(d) === publish!.spanContext().spanId)!;
    expect(delivers.filter((d) => d !== first).map(parentOf)).toEqual([first.spanContext().spanId]);

    // The client library: chat.send parents the publish and ends with the own copy; every other member's chat.receive is its child.
    const [send] = named('chat.send');
    expect(parentOf(publish!)).toBe(send!.spanContext().spanId);
    expect(send!.attributes['chat.seq']).toBe(publish!.attributes['chat.seq']);
    await waitFor(() => named('chat.receive').length === 3, { what: 'three receive spans' });
    for (const r of named('chat.receive')) expect(parentOf(r)).toBe(publish!.spanContext().spanId);
  });

  it('with CHAT_TRACE_DELIVERIES=0 there are no delivery spans, and the rest is unchanged', async () => {
    t = await TestServer.start({ telemetry: true, traceDeliveries: 0 });
    const [alice, bob] = await room(['alice', 'bob']);
    const id = alice!.session.send('lobby', 'hi');
    await bob!.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the message');
    expect(named('chat.publish')).toHaveLength(1);
    expect(named('chat.deliver')).toEqual([]);
  });

  it('messages written to a receiver in one write share one chat.deliver; the next receiver’s links to that span, not to every message again', async () => {
    // The room holds its events for 500 ms and sends them to each member in one write.
    t = await TestServer.start({ telemetry: true, traceDeliveries: 2, limits: { coalesceMs: 500 } });
    const [alice, ...others] = await room(['alice', 'bob', 'carol', 'dave']);
    // Once the joins' notices are written, the messages make one run, the same frame for every member.
    await alice!.waitFor((e) => e.type === 'user_joined' && e.notice.userId === 'dave', 'dave’s join');
    const ids = ['one', 'two', 'three'].map((text) => alice!.session.send('lobby', text));
    for (const log of [alice!, ...others]) await log.waitFor((e) => e.type === 'message' && e.message.clientMsgId === ids[2], 'the last message');
    await waitFor(() => named('chat.publish').length === 3 && named('chat.deliver').length >= 2, { what: 'three publishes and two deliveries' });

    const publishes = named('chat.publish').sort((a, b) => (a.attributes['chat.seq'] as number) - (b.attributes['chat.seq'] as number));
    const ofPublish = (s: ReadableSpan) => s.spanContext().spanId;
    const delivers = named('chat.deliver');
    // Two receivers traced (CHAT_TRACE_DELIVERIES=2), one span each, not one per message.
    expect(delivers).toHaveLength(2);
    const first = delivers.find((d) => parentOf(d) === ofPublish(publishes[0]!))!;
    const next = delivers.find((d) => d !== first)!;
    // The first: a child of the oldest message's publish, linked to the others'.
    expect(first.links.map((l) => l.context.spanId)).toEqual([ofPublish(publishes[1]!), ofPublish(publishes[2]!)]);
    // The next: one reference, to the first, for all three.
    expect(parentOf(next)).toBe(first.spanContext().spanId);
    expect(next.links).toEqual([]);
    for (const d of [first, next]) expect(d.attributes).toMatchObject({ 'chat.room': 'lobby', 'chat.seq': publishes[0]!.attributes['chat.seq'], 'chat.seq.last': publishes[2]!.attributes['chat.seq'], 'chat.write.traced': 3 });
    expect(new Set(delivers.map((d) => d.attributes['chat.receiver.user_id'])).size).toBe(2);
  });

  it('messages from a sender that traces nothing are named by the write’s seq range, not linked one by one', async () => {
    t = await TestServer.start({ telemetry: true, traceDeliveries: 2, limits: { coalesceMs: 500 } });
    const [alice, ...others] = await room(['alice', 'bob', 'carol']);
    // An original-proto client: its envelopes carry no trace context.
    const plain = new RawCall(t.address);
    try {
      plain.send({ message: { $case: 'join', value: { userId: 'plain', room: 'lobby' } } });
      await alice!.waitFor((e) => e.type === 'user_joined' && e.notice.userId === 'plain', 'plain joining');
      for (const text of ['one', 'two', 'three']) plain.send({ message: { $case: 'chat', value: { room: 'lobby', content: text } } });
      for (const log of [alice!, ...others]) await log.waitFor((e) => e.type === 'message' && e.message.content === 'three', 'the last message');
      await waitFor(() => named('chat.publish').length === 3 && named('chat.deliver').length >= 2, { what: 'three publishes and two deliveries' });
    } finally {
      plain.close();
    }
    const publishes = named('chat.publish').sort((a, b) => (a.attributes['chat.seq'] as number) - (b.attributes['chat.seq'] as number));
    // Two receivers per frame (CHAT_TRACE_DELIVERIES=2): the batch clients' run is one frame, plain's (an original-proto run) another.
    const delivers = named('chat.deliver');
    expect(delivers).toHaveLength(3);
    const firsts = delivers.filter((d) => parentOf(d) === publishes[0]!.spanContext().spanId);
    const nexts = delivers.filter((d) => !firsts.includes(d));
    expect(firsts).toHaveLength(2);
    // Each frame's first: a child of the oldest publish, no link per message; the range says which it carried.
    for (const first of firsts) {
      expect(first.links).toEqual([]);
      expect(first.attributes).toMatchObject({ 'chat.seq': publishes[0]!.attributes['chat.seq'], 'chat.seq.last': publishes[2]!.attributes['chat.seq'], 'chat.write.traced': 3 });
    }
    // The next receiver of a frame: a child of that frame's first.
    expect(nexts.map(parentOf).every((id) => firsts.some((f) => f.spanContext().spanId === id))).toBe(true);
    expect(nexts.flatMap((d) => d.links)).toEqual([]);
    expect(new Set(delivers.map((d) => d.attributes['chat.receiver.user_id'])).size).toBe(3);
  });

  it('on rooms shared through NATS: chat.join and chat.publish (with its seq) end at the owner’s answer, and receivers continue the sender’s trace', async () => {
    const nats = await NatsServer.start();
    try {
      t = await TestServer.start({ telemetry: true, natsServers: [nats.url] });
      const [alice, bob] = await room(['alice', 'bob']);
      const id = alice!.session.send('lobby', 'hi');
      const got = await bob!.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the message');
      await waitFor(() => named('chat.publish').length === 1 || undefined, { what: 'the publish span' });
      const [publish] = named('chat.publish');
      expect(publish!.attributes).toMatchObject({ 'chat.room': 'lobby', 'chat.seq': got.type === 'message' ? got.message.seq : -1, 'chat.payload.size': 2 });
      expect(parentOf(publish!)).toBe(named('chat.send')[0]!.spanContext().spanId);
      expect(named('chat.join').map((s) => s.attributes['chat.room'])).toEqual(['lobby', 'lobby']);
      // bob's chat.receive is a child of the server's publish: the trace went through the stream.
      await waitFor(() => named('chat.receive').length >= 1 || undefined, { what: 'the receive span' });
      expect(named('chat.receive').map(parentOf)).toContain(publish!.spanContext().spanId);
      expect(await metric('chat.messages.received')).toBeGreaterThanOrEqual(1);
      await t.stop();
    } finally {
      await nats.stop();
    }
  });

  it('a resume is a chat.join with chat.resume and chat.recovered, counted in chat.resumes by recovered', async () => {
    t = await TestServer.start({ telemetry: true, limits: { historyEvents: 3 } });
    const [alice] = await room(['alice']);
    const before = (await metric('chat.resumes', { 'chat.recovered': true })) ?? 0;
    const beforeLost = (await metric('chat.resumes', { 'chat.recovered': false })) ?? 0;
    const ack = alice!.events.find((e) => e.type === 'joined')!;
    const { epoch } = ack.type === 'joined' ? ack.ack : { epoch: '' };

    const recovering = t.open({ userId: 'alice' });
    recovering.session.join('lobby', { afterSeq: 1, epoch });
    await recovering.joined('lobby');
    for (let i = 0; i < 5; i++) alice!.session.send('lobby', `m${i}`);
    await recovering.waitFor((e) => e.type === 'message' && e.message.content === 'm4', 'the last message');
    const lost = t.open({ userId: 'alice' });
    lost.session.join('lobby', { afterSeq: 1, epoch });
    await lost.joined('lobby');

    const resumes = named('chat.join').filter((j) => j.attributes['chat.resume'] === true);
    expect(resumes.map((j) => j.attributes['chat.recovered'])).toEqual([true, false]);
    expect(await metric('chat.resumes', { 'chat.recovered': true })).toBe(before + 1);
    expect(await metric('chat.resumes', { 'chat.recovered': false })).toBe(beforeLost + 1);
  });

  it('errors are counted by code, TYPE_ERROR notices and stream-ending statuses alike', async () => {
    t = await TestServer.start({ telemetry: true });
    const [alice] = await room(['alice']);
    const before = async (code: string) => (await metric('chat.errors', { 'chat.error.code': code })) ?? 0;
    const [invalid, denied] = [await before('INVALID_ROOM'), await before('PERMISSION_DENIED')];
    alice!.session.join('bad room');
    await alice!.waitFor((e) => e.type === 'error' && e.notice.code === 'INVALID_ROOM', 'INVALID_ROOM');
    alice!.session.envelope({ message: { $case: 'chat', value: { userId: 'mallory', room: 'lobby', content: 'x' } } });
    await alice!.waitEnd();
    expect(await metric('chat.errors', { 'chat.error.code': 'INVALID_ROOM' })).toBe(invalid + 1);
    expect(await metric('chat.errors', { 'chat.error.code': 'PERMISSION_DENIED' })).toBe(denied + 1);
    await waitFor(async () => (await metric('chat.streams.open')) === 0, { what: 'no stream open' });
  });

  it('a slow consumer is counted when it is cut off, by cause, even while its client never reads again; the room pauses it caused are counted', async () => {
    t = await TestServer.start({
      telemetry: true,
      limits: { queueEvents: 32, queueBytes: 32 * 1024, queueHighWaterBytes: 8 * 1024, queueLowWaterBytes: 1024, stallGraceMs: 100, historyEvents: 8, historyBytes: 8 * 1024 },
    });
    const [alice] = await room(['alice']);
    const cause = { 'chat.cutoff.cause': 'queue_bound' };
    const cutoffs = (await metric('chat.slow_consumer.cutoffs', cause)) ?? 0;
    const pauses = (await metric('chat.backpressure.pauses', { 'chat.pause.scope': 'room' })) ?? 0;
    const slow = (await metric('chat.errors', { 'chat.error.code': 'SLOW_CONSUMER' })) ?? 0;
    const sloth = new RawCall(t.address);
    try {
      sloth.send({ message: { $case: 'join', value: { userId: 'sloth', room: 'lobby' } } });
      await alice!.waitFor((e) => e.type === 'user_joined' && e.notice.userId === 'sloth', 'sloth joining');
      for (let i = 0; i < 200 && !alice!.events.some((e) => e.type === 'user_left' && e.notice.userId === 'sloth'); i++) {
        alice!.session.send('lobby', 'x'.repeat(2000));
        await alice!.waitFor((e) => e.type === 'message' && e.message.seq > 0 && e.message.content.length === 2000 && alice!.of('message', 'lobby').length > i, 'own copy');
      }
      await alice!.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'sloth', 'sloth cut off');
      expect(await metric('chat.slow_consumer.cutoffs', cause)).toBe(cutoffs + 1);
      expect(await metric('chat.errors', { 'chat.error.code': 'SLOW_CONSUMER' })).toBe(slow + 1);
      // Sloth held the room back until the stall grace was over.
      expect(await metric('chat.backpressure.pauses', { 'chat.pause.scope': 'room' })).toBeGreaterThan(pauses);
    } finally {
      sloth.close();
    }
  });

  it('with telemetry off the server records nothing and passes the sender’s trace context through', async () => {
    t = await TestServer.start({ telemetry: false });
    const received = (await metric('chat.messages.received')) ?? 0;
    const [alice, bob] = await room(['alice', 'bob']);
    const id = alice!.session.send('lobby', 'hi');
    const got = await bob!.waitFor((e) => e.type === 'message' && e.message.clientMsgId === id, 'the message');
    // The client's own spans exist (this process has a provider), but the server made none.
    expect(spans.getFinishedSpans().filter((s) => s.name.startsWith('chat.') && !['chat.send', 'chat.receive'].includes(s.name))).toEqual([]);
    expect((await metric('chat.messages.received')) ?? 0).toBe(received);
    // Off, the server passes the sender's trace context through untouched.
    expect(got.type === 'message' && got.message.traceContext.traceparent).toContain(named('chat.send')[0]!.spanContext().traceId);
  });
});
