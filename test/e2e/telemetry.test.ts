import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { LineClient } from '../helpers/LineClient.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/OtlpReceiver.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/waitFor.js';

/** Whether a span has `spanId` as its parent or among its links. */
const refersTo = (s: ReceivedSpan, spanId: string) => s.parentSpanId === spanId || s.links.some((l) => l.spanId === spanId);

/** Whether a chat.deliver's seq range (chat.seq..chat.seq.last) in its room covers a publish's message. */
const covers = (d: ReceivedSpan, publish: ReceivedSpan) =>
  d.attributes['chat.room'] === publish.attributes['chat.room'] && (d.attributes['chat.seq'] as number) <= (publish.attributes['chat.seq'] as number) && (publish.attributes['chat.seq'] as number) <= (d.attributes['chat.seq.last'] as number);

/**
 * The chat.deliver spans of a publish, one per receiver's write: the first
 * receiver's refers to the publish itself (its parent, or a link when its
 * sender traced it) or covers its seq; the next receivers' refer to that span.
 */
function deliveriesOf(r: OtlpReceiver, publish: ReceivedSpan): ReceivedSpan[] {
  const delivers = r.spans.filter((s) => s.name === 'chat.deliver');
  const first = delivers.filter((d) => refersTo(d, publish.spanId) || (covers(d, publish) && !delivers.some((e) => refersTo(d, e.spanId))));
  return [...first, ...delivers.filter((d) => !first.includes(d) && first.some((f) => refersTo(d, f.spanId)))];
}

/**
 * The whole path, with real processes: a server and three chat-tui clients (line
 * mode), all exporting over OTLP/HTTP to a real receiver. The server and alice
 * send protobuf (the SDK's default), bob and carol JSON: both encodings arrive.
 * alice sends three messages and one bad join; then everyone leaves and the
 * server drains, flushing its last spans and metrics.
 */
describe('telemetry: one trace from a sender through the server to two receivers, and metrics that match the traffic', () => {
  let receiver: OtlpReceiver;
  let server: ServerProcess;
  const clients: LineClient[] = [];
  const messages = ['hello, traced world', 'second', 'third: ünïcödé'];
  const quick = { OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRIC_EXPORT_INTERVAL: '300' };

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, CHAT_DRAIN_GRACE_MS: '500', ...quick });
    const address = `127.0.0.1:${await server.port()}`;
    const client = (name: string, protocol: string) => {
      const c = LineClient.spawn(['--plain', '--name', name, '--room', 'lobby', '--server', address], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: `chat-tui-${name}`,
        ...quick,
      });
      clients.push(c);
      return c;
    };
    const bob = client('bob', 'http/json');
    const carol = client('carol', 'http/json');
    await bob.waitForLine('Welcome to #lobby, bob!');
    await carol.waitForLine('Welcome to #lobby, carol!');
    const alice = client('alice', 'http/protobuf');
    await bob.waitForLine('alice joined');
    await carol.waitForLine('alice joined');
    for (const text of messages) alice.say(text);
    alice.say('/join b@d');
    for (const c of [bob, carol]) await c.waitForLine(`<alice> ${messages.at(-1)}`);
    await alice.waitForLine('INVALID_ROOM');
    // While all three are in: the gauges see them.
    await waitFor(() => receiver.latest('chat.members')?.value === 3 && receiver.latest('chat.streams.open')?.value === 3, { timeoutMs: 10_000, what: 'gauges with three members' });
    bob.say('/leave lobby');
    await carol.waitForLine('bob left');

    for (const c of clients) c.end();
    for (const c of clients) expect((await c.waitExit(15_000)).code).toBe(0);
    server.child.kill('SIGTERM');
    expect((await server.waitExit()).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.kill()));
    await server?.kill();
    await receiver?.close();
  });

  const byId = (id: string) => receiver.spans.find((s) => s.spanId === id);
  const children = (parent: ReceivedSpan, name: string) => receiver.spans.filter((s) => s.name === name && s.parentSpanId === parent.spanId);
  const deliveries = (publish: ReceivedSpan) => deliveriesOf(receiver, publish);

  it('each send is one trace: chat.send (alice) → chat.publish (server) → chat.receive (bob, carol); a chat.deliver per receiver’s write refers to it', async () => {
    const sends = await receiver.waitForSpans((s) => s.name === 'chat.send' && s.service === 'chat-tui-alice', 3);
    expect(sends).toHaveLength(3);
    for (const [i, send] of sends.entries()) {
      const [publish] = await receiver.waitForSpans((s) => s.name === 'chat.publish' && s.parentSpanId === send.spanId, 1);
      expect(publish!.traceId).toBe(send.traceId);
      expect(publish!.service).toBe('chat-grpc');
      expect(publish!.attributes).toMatchObject({
        'chat.room': 'lobby',
        'chat.seq': send.attributes['chat.seq'],
        'chat.fanout.size': 3,
        'chat.payload.size': Buffer.byteLength(messages[i]!),
      });

      const delivers = deliveries(publish!);
      expect(delivers.map((d) => d.attributes['chat.receiver.user_id']).sort()).toEqual(['alice', 'bob', 'carol']);
      for (const d of delivers) {
        // A child of this publish is in its trace; the others are in the trace of an older message of the same write.
        if (d.parentSpanId === publish!.spanId) expect(d.traceId).toBe(send.traceId);
        expect(d.startNs).toBeLessThanOrEqual(d.endNs);
        expect(d.attributes['chat.write.traced']).toBeGreaterThanOrEqual(1);
        expect(d.attributes['chat.write.messages']).toBeGreaterThanOrEqual(d.attributes['chat.write.traced'] as number);
      }
      // Exactly one receiver's span refers to the publish itself; the others refer to that span.
      expect(delivers.filter((d) => refersTo(d, publish!.spanId))).toHaveLength(1);
      const receives = children(publish!, 'chat.receive');
      expect(receives.map((r) => r.service).sort()).toEqual(['chat-tui-bob', 'chat-tui-carol']);
      for (const r of receives) expect(r.attributes).toMatchObject({ 'chat.room': 'lobby', 'chat.sender.user_id': 'alice', 'chat.seq': send.attributes['chat.seq'] });

      // The publish links to alice's stream: the server's Channel span, itself a child of alice's client call span.
      const stream = byId(publish!.links[0]!.spanId)!;
      expect(stream).toMatchObject({ name: 'chat.v1.ChatService/Channel', service: 'chat-grpc', kind: 2 });
      expect(byId(stream.parentSpanId)).toMatchObject({ name: 'chat.v1.ChatService/Channel', service: 'chat-tui-alice', kind: 3 });
    }
  });

  it('joins and leaves are spans inside their stream’s span, with the room and what the join did', async () => {
    const joins = await receiver.waitForSpans((s) => s.name === 'chat.join' && s.service === 'chat-grpc', 4);
    for (const join of joins) {
      const stream = byId(join.parentSpanId);
      expect(stream?.name).toBe('chat.v1.ChatService/Channel');
      expect(join.traceId).toBe(stream?.traceId);
    }
    const lobby = joins.filter((j) => j.attributes['chat.room'] === 'lobby');
    expect(lobby.map((j) => j.attributes['chat.members']).sort()).toEqual([1, 2, 3]);
    expect(lobby.every((j) => j.attributes['chat.resume'] === false)).toBe(true);
    // The refused join is a span too, marked as an error.
    expect(joins.find((j) => j.attributes['chat.room'] === 'b@d')?.status).toBe(2);

    const [leave] = await receiver.waitForSpans((s) => s.name === 'chat.leave', 1);
    expect(leave!.attributes).toEqual({ 'chat.room': 'lobby' });
    expect(byId(leave!.parentSpanId)).toMatchObject({ name: 'chat.v1.ChatService/Channel', service: 'chat-grpc' });
  });

  it('both OTLP encodings arrived: protobuf (server, alice) and JSON (bob, carol)', () => {
    expect(receiver.encodings).toContain('/v1/traces application/x-protobuf');
    expect(receiver.encodings).toContain('/v1/traces application/json');
    expect(receiver.encodings).toContain('/v1/metrics application/x-protobuf');
    expect(new Set(receiver.spans.map((s) => s.service))).toEqual(new Set(['chat-grpc', 'chat-tui-alice', 'chat-tui-bob', 'chat-tui-carol']));
  });

  it('the server’s metrics match the traffic: 3 received, 9 delivered, one INVALID_ROOM, 3 streams that ended OK, nothing left queued', () => {
    const server = (metric: string, attributes = {}) => receiver.points.findLast((p) => p.service === 'chat-grpc' && p.metric === metric && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
    expect(server('chat.messages.received')?.value).toBe(3);
    expect(server('chat.messages.delivered')?.value).toBe(9);
    expect(server('chat.errors', { 'chat.error.code': 'INVALID_ROOM' })?.value).toBe(1);
    expect(server('chat.streams.open')?.value).toBe(0);
    expect(server('chat.fanout.duration')).toMatchObject({ type: 'histogram', count: 3, unit: 's' });
    expect(server('chat.delivery.latency')?.count).toBeGreaterThanOrEqual(3);
    expect(server('chat.stream.duration', { 'rpc.grpc.status_code': 0 })).toMatchObject({ count: 3, unit: 's' });
    expect(server('chat.rooms')).toMatchObject({ type: 'sum', value: 1 }); // #lobby, in its grace period; b@d never existed
    expect(server('chat.queue.events')).toMatchObject({ type: 'sum', value: 0 });
    expect(server('chat.queue.bytes')).toMatchObject({ unit: 'By', value: 0 });
  });

  it('the server’s log lines carry the trace_id and span_id of the stream they are about', () => {
    const streams = receiver.spans.filter((s) => s.name === 'chat.v1.ChatService/Channel' && s.service === 'chat-grpc');
    for (const event of ['stream_start', 'stream_end']) {
      const lines = server.logs().filter((l) => l.event === event);
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(streams).toContainEqual(expect.objectContaining({ traceId: line.trace_id, spanId: line.span_id }));
    }
  });
});

/**
 * Sampling is OpenTelemetry's: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, and
 * parentbased_always_on when they are unset. Each case runs a server and two
 * line-mode clients, one that traces its sends and one that does not (as every
 * client of the original proto, or grpcurl), each sending one message.
 */
describe('sampling: OpenTelemetry’s standard variables decide which traces are kept', () => {
  let receiver: OtlpReceiver | undefined;
  let server: ServerProcess | undefined;
  let clients: LineClient[] = [];
  const quick = { OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRIC_EXPORT_INTERVAL: '300' };

  afterEach(async () => {
    await Promise.all(clients.map((c) => c.kill()));
    await server?.kill();
    await receiver?.close();
    clients = [];
  });

  /** Runs the exchange against a server with this environment; returns the spans and points received once it has drained. */
  async function exchange(serverEnv: Record<string, string>): Promise<OtlpReceiver> {
    const r = (receiver = await OtlpReceiver.start());
    server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, CHAT_DRAIN_GRACE_MS: '500', ...quick, ...serverEnv });
    const address = `127.0.0.1:${await server.port()}`;
    const traced = LineClient.spawn(['--plain', '--name', 'tracy', '--room', 'lobby', '--server', address], { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_SERVICE_NAME: 'chat-tui-tracy', ...quick });
    const plain = LineClient.spawn(['--plain', '--name', 'plain', '--room', 'lobby', '--server', address]);
    clients.push(traced, plain);
    await traced.waitForLine('Welcome to #lobby, tracy!');
    await plain.waitForLine('Welcome to #lobby, plain!');
    traced.say('traced message');
    plain.say('untraced message');
    await traced.waitForLine('<plain> untraced message');
    await plain.waitForLine('<tracy> traced message');
    for (const c of clients) c.end();
    for (const c of clients) expect((await c.waitExit(15_000)).code).toBe(0);
    server.child.kill('SIGTERM');
    expect((await server.waitExit()).code).toBe(0);
    // Both messages were counted, whatever was sampled.
    expect(r.points.findLast((p) => p.service === 'chat-grpc' && p.metric === 'chat.messages.received')?.value).toBe(2);
    return r;
  }

  const publishOf = (r: OtlpReceiver, room: string, userStream: (s: ReceivedSpan) => boolean) => r.spans.filter((s) => s.name === 'chat.publish' && s.attributes['chat.room'] === room && userStream(s));

  it('with only OTEL_EXPORTER_OTLP_ENDPOINT set, a client that sends no trace context is traced too: its stream, join, publish and deliveries', async () => {
    const r = await exchange({});
    const sends = r.spans.filter((s) => s.name === 'chat.send');
    expect(sends).toHaveLength(1);
    const publishes = publishOf(r, 'lobby', () => true);
    expect(publishes).toHaveLength(2);
    const [fromTraced, fromPlain] = [publishes.find((p) => p.parentSpanId === sends[0]!.spanId), publishes.find((p) => p.parentSpanId !== sends[0]!.spanId)];
    expect(fromTraced).toBeDefined();
    // The untraced client's publish is a child of its stream's server span, the root of its trace.
    const stream = r.spans.find((s) => s.spanId === fromPlain!.parentSpanId);
    expect(stream).toMatchObject({ name: 'chat.v1.ChatService/Channel', service: 'chat-grpc', kind: 2, parentSpanId: '' });
    expect(r.spans.filter((s) => s.name === 'chat.join' && s.service === 'chat-grpc')).toHaveLength(2);
    // Both receivers' writes of the untraced message have their chat.deliver.
    const delivered = deliveriesOf(r, fromPlain!);
    expect(delivered.map((d) => d.attributes['chat.receiver.user_id']).sort()).toEqual(['plain', 'tracy']);
  }, 60_000);

  it('with OTEL_TRACES_SAMPLER=parentbased_traceidratio and OTEL_TRACES_SAMPLER_ARG=0, only what the traced client sends is kept', async () => {
    const r = await exchange({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    const publishes = r.spans.filter((s) => s.name === 'chat.publish');
    expect(publishes).toHaveLength(1);
    const send = r.spans.find((s) => s.name === 'chat.send');
    expect(publishes[0]!.parentSpanId).toBe(send!.spanId);
    // The untraced client's stream and join were not sampled; the traced one's were (its client traced the call).
    expect(r.spans.filter((s) => s.name === 'chat.join')).toHaveLength(1);
    expect(r.spans.filter((s) => s.name === 'chat.v1.ChatService/Channel' && s.service === 'chat-grpc')).toHaveLength(1);
  }, 60_000);

  it('with OTEL_TRACES_SAMPLER=always_off the server keeps no span at all, and still exports its metrics', async () => {
    const r = await exchange({ OTEL_TRACES_SAMPLER: 'always_off' });
    expect(r.spans.filter((s) => s.service === 'chat-grpc')).toEqual([]);
    expect(r.spans.filter((s) => s.name === 'chat.send')).toHaveLength(1);
  }, 60_000);
});
