import type { ServerKind } from './BenchServer.js';

/** The benchmark's scenarios (issue: "Benchmark and speed"). */
export interface Scenario {
  name: string;
  /** What it measures, for the report. */
  about: string;
  kind: 'messages' | 'idle' | 'joinStorm';
  members: number;
  senders: number;
  messagesPerSender: number;
  /** Messages per second per sender; 0 is full speed. */
  ratePerSender: number;
  /**
   * Messages each sender sends first, at the same rate, before anything is
   * measured: the first second of traffic runs while V8 is still compiling the
   * hot paths of the server and the workers, which is start-up, not steady state.
   */
  warmupPerSender: number;
  payloadBytes: number;
  /** TCP connections the members are spread over. */
  connections: number;
  /** Extra clients that loop join/leave while the others chat. */
  churners: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** Let our server batch events (false: what clients of the original proto get). */
  batch: boolean;
  /** Members per room (the members fill rooms of this size in turn); 0: one room. */
  roomSize: number;
  /** Also run our server with telemetry on (exported to a sink), to report its cost. */
  telemetry: boolean;
  /** The servers it runs on without --server, when not ours and the baseline (and the telemetry kinds). */
  servers?: ServerKind[];
  /** What its figures can and cannot show, for the report's notes. */
  note?: string;
  /** Runs per server; the report shows the median (two shared cores make single runs noisy). */
  repeat: number;
  /** Runs of the baseline, when fewer than `repeat` (it can take minutes where ours takes seconds). */
  baselineRepeat?: number;
  /**
   * The load source: the bench's own worker processes (default), or the Go load
   * generator of the original proto (bench/goload), run with `goload.args` after
   * `goload.warmup` (a run into another room first, so the server's hot paths are
   * compiled before anything is measured).
   */
  goload?: { args: string[]; warmup?: string[] };
}

const base = { repeat: 1, telemetry: false, warmupPerSender: 0, payloadBytes: 64, churners: 0, ratePerSender: 0, timeoutMs: 120_000, batch: true, roomSize: 0 };

export const scenarios: Scenario[] = [
  { ...base, name: 'fanout-100x10', about: '100 members, 10 senders x 1,000 messages, full speed (and ours with telemetry exported)', kind: 'messages', members: 100, senders: 10, messagesPerSender: 1000, connections: 100, telemetry: true, repeat: 5 },
  {
    ...base,
    name: 'fanout-cluster',
    about: 'fanout-100x10 (100 members, 10 senders x 1,000, full speed) on ours and on the NATS backplane: one server process (nats-1), 2 and 3 on their own ports with the clients round robin over them (nats-2, nats-3), 2 workers behind one port (nats-workers-2)',
    kind: 'messages', members: 100, senders: 10, messagesPerSender: 1000, connections: 100, repeat: 3,
    servers: ['ours', 'nats-1', 'nats-2', 'nats-3', 'nats-workers-2'],
    note: "every process of a run shares the machine's cores: the chat servers, nats-server and the bench's 2 load workers (which decode every delivery). With fewer cores than that (2 on this project's machine), nats-2, nats-3 and nats-workers-2 cannot deliver more than nats-1: they show what each further node costs per message and that order and completeness hold across nodes, not how throughput scales with free cores",
  },
  { ...base, name: 'fanout-100x10-unbatched', about: 'fanout-100x10 with clients that do not take batches (as clients of the original proto)', kind: 'messages', members: 100, senders: 10, messagesPerSender: 1000, connections: 100, batch: false },
  { ...base, name: 'fanout-1000x1', about: '1,000 members, 1 sender x 200 messages, full speed', kind: 'messages', members: 1000, senders: 1, messagesPerSender: 200, connections: 100 },
  { ...base, name: 'chatty-10x10', about: '10 members, 10 senders x 5,000 messages, full speed', kind: 'messages', members: 10, senders: 10, messagesPerSender: 5000, connections: 10 },
  { ...base, name: 'latency-100x10', about: '100 members, 10 senders paced at 100 messages/s each for 5 s, measured after 1 s of warm-up at that rate', kind: 'messages', members: 100, senders: 10, messagesPerSender: 500, ratePerSender: 100, connections: 100, warmupPerSender: 100 },
  { ...base, name: 'idle-5000', about: '5,000 joined streams over 50 connections, in rooms of 100, no traffic: settled RSS per stream (one room of 5,000 is join-storm-5000)', kind: 'idle', members: 5000, senders: 0, messagesPerSender: 0, connections: 50, roomSize: 100 },
  { ...base, name: 'join-storm-5000', about: '5,000 joins into one room at once: time until all are acknowledged and presence is exact', kind: 'joinStorm', members: 5000, senders: 0, messagesPerSender: 0, connections: 50 },
  {
    ...base,
    name: 'fanout-100x10-original',
    about: 'fanout-100x10 driven by the Go load generator of the original proto (grpc-go, no batch_events): 90 subscribers + 10 senders x 1,000, full speed; deliveries counted at the 90 subscribers',
    kind: 'messages', members: 100, senders: 10, messagesPerSender: 1000, connections: 10, batch: false, repeat: 3,
    goload: { args: ['-n', '90', '-s', '10', '-m', '1000', '-conns', '10', '-room', 'bench'] },
  },
  {
    ...base,
    name: 'latency-100x10-original',
    about: 'the Go load generator: 90 subscribers + 10 senders paced at 100 messages/s each (1,000 messages/s into 100 members) for 6 s, after a 1 s warm-up at that rate in another room',
    kind: 'messages', members: 100, senders: 10, messagesPerSender: 600, ratePerSender: 100, connections: 10, batch: false, repeat: 3,
    goload: {
      args: ['-n', '90', '-s', '10', '-m', '600', '-rate', '100', '-conns', '10', '-room', 'bench'],
      warmup: ['-n', '90', '-s', '10', '-m', '100', '-rate', '100', '-conns', '10', '-room', 'warmup', '-drain', '1s'],
    },
  },
  {
    ...base,
    name: 'join-storm-5000-original',
    about: 'the Go load generator: 5,000 members join one room over 50 connections, 64 joins in flight; seconds until all are acknowledged, then until every join notice is read; settled RSS',
    kind: 'joinStorm', members: 5000, senders: 0, messagesPerSender: 0, connections: 50, batch: false, repeat: 3, baselineRepeat: 1, timeoutMs: 180_000,
    goload: { args: ['-n', '5000', '-conns', '50', '-room', 'storm'] },
  },
  { ...base, name: 'churn', about: '50 members, 5 senders x 1,000 at 200/s, while 20 clients loop join/leave', kind: 'messages', members: 50, senders: 5, messagesPerSender: 1000, ratePerSender: 200, connections: 70, churners: 20 },
];
