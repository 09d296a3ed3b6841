import type { BatchObservableCallback, Meter } from '@opentelemetry/api';

/** Buckets (s) for what takes micro- to milliseconds: fan-out, delivery latency. */
const FAST_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets (s) for stream lifetimes: seconds to a day. */
const STREAM_SECONDS = [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600];

/** The server's metrics that are recorded as things happen (names and units in docs/telemetry.md's table). */
export function chatInstruments(meter: Meter) {
  return {
    streams: meter.createUpDownCounter('chat.streams.open', { description: 'Channel streams open now', unit: '{stream}' }),
    fanout: meter.createHistogram('chat.fanout.duration', { description: 'Time to sequence a message and queue it to every member', unit: 's', advice: { explicitBucketBoundaries: FAST_SECONDS } }),
    latency: meter.createHistogram('chat.delivery.latency', { description: 'From sequenced to written to the wire, per write (its oldest event)', unit: 's', advice: { explicitBucketBoundaries: FAST_SECONDS } }),
    streamDuration: meter.createHistogram('chat.stream.duration', { description: 'How long Channel streams lived', unit: 's', advice: { explicitBucketBoundaries: STREAM_SECONDS } }),
    cutoffs: meter.createCounter('chat.slow_consumer.cutoffs', { description: 'Streams cut off as slow consumers, by chat.cutoff.cause (write_deadline, queue_bound, budget)', unit: '{stream}' }),
    pauses: meter.createCounter('chat.backpressure.pauses', { description: 'Times a room (chat.pause.scope=room) or the whole server (server) stopped taking publishes and joins until queues drained', unit: '{pause}' }),
    resumes: meter.createCounter('chat.resumes', { description: 'Joins that resumed (after_seq/epoch), by whether everything missed was replayed', unit: '{join}' }),
    errors: meter.createCounter('chat.errors', { description: 'TYPE_ERROR notices and stream-ending errors, by code', unit: '{error}' }),
    refused: meter.createCounter('chat.limits.refused', { description: 'Requests and streams refused by an abuse limit, by chat.limit (requests_per_stream, joins_per_stream, rooms_per_server, members_per_room, room_churn, streams_per_connection, connections_per_ip)', unit: '{refusal}' }),
    rpc: meter.createHistogram('rpc.server.duration', { description: 'Duration of unary RPCs', unit: 'ms' }),
  };
}

export type ChatInstruments = ReturnType<typeof chatInstruments>;

/** Counts the server keeps in plain numbers, read at each export. */
export interface ChatCounts {
  received: number;
  delivered: number;
  rooms: number;
  members: number;
  events: number;
  bytes: number;
}

/**
 * The metrics read at export rather than recorded on the hot path, all from one
 * `read()` per collection. Returns the way to stop reporting them.
 */
export function observeCounts(meter: Meter, read: () => ChatCounts): () => void {
  const received = meter.createObservableCounter('chat.messages.received', { description: 'Chat messages accepted and sequenced', unit: '{message}' });
  const delivered = meter.createObservableCounter('chat.messages.delivered', { description: 'Chat messages written to receivers’ streams', unit: '{message}' });
  // Counts that add up across servers: up-down counters.
  const rooms = meter.createObservableUpDownCounter('chat.rooms', { description: 'Rooms alive (empty ones in their grace period included)', unit: '{room}' });
  const members = meter.createObservableUpDownCounter('chat.members', { description: 'Members of all rooms', unit: '{member}' });
  const events = meter.createObservableUpDownCounter('chat.queue.events', { description: 'Events waiting in streams’ queues', unit: '{event}' });
  const bytes = meter.createObservableUpDownCounter('chat.queue.bytes', { description: 'Bytes waiting in streams’ queues', unit: 'By' });
  const observed = [received, delivered, rooms, members, events, bytes];
  const observe: BatchObservableCallback = (result) => {
    const counts = read();
    result.observe(received, counts.received);
    result.observe(delivered, counts.delivered);
    result.observe(rooms, counts.rooms);
    result.observe(members, counts.members);
    result.observe(events, counts.events);
    result.observe(bytes, counts.bytes);
  };
  meter.addBatchObservableCallback(observe, observed);
  return () => meter.removeBatchObservableCallback(observe, observed);
}
