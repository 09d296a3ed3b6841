import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchServer, cpuSecondsOf, type ServerKind } from './BenchServer.js';
import { BenchServers, onNats } from './BenchServers.js';
import { Histogram } from './Histogram.js';
import type { WorkerReport, WorkerTask } from './protocol.js';
import { runGoloadScenario } from './runGoloadScenario.js';
import type { Scenario } from './scenarios.js';

/** What one scenario measured on one server. */
export interface Measurement {
  server: ServerKind;
  complete: boolean;
  seconds: number;
  deliveries: number;
  expected: number;
  deliveriesPerSecond: number;
  missing: number;
  outOfOrder: number;
  seqGaps: number;
  latencyMs: { p50: number; p99: number; max: number };
  serverCpuUsPerDelivery: number;
  serverCpuSeconds: number;
  serverRssMB: number;
  serverPeakRssMB: number;
  rssPerStreamKB: number;
  churnRounds: number;
  cutOff: string[];
  /** Ours: streams the server cut off as slow consumers (from its log), and times a room or the server paused publishing. */
  serverCutOffs: number;
  pauses: number;
  /** Join storms: seconds until every member had read every join notice. */
  settledSeconds: number;
  /** With telemetry exported: the spans the sink received (the drain's last export included), by name, and their links. */
  spans?: Record<string, number>;
  links?: number;
  /** Messages sent in the measured phase (once each, whatever the members). */
  messagesSent?: number;
  /** The nats-* kinds: nats-server's CPU seconds over the measured phase (the server columns are the chat processes only). */
  natsCpuSeconds?: number;
}

const WORKERS = 2;
const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Worker {
  readonly child: ChildProcess;
  private waiters = new Map<string, (report: WorkerReport) => void>();
  /** Resolves once the worker listens for messages. */
  readonly listening: Promise<WorkerReport>;
  constructor() {
    // With BENCH_CPU_PROF=DIR the workers are profiled too, into DIR/workers.
    const dir = process.env.BENCH_CPU_PROF;
    const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}/workers`] : [];
    this.child = fork(workerScript, [], { execArgv: [...profile, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.listening = new Promise((resolve) => this.waiters.set('hello', resolve));
    this.child.on('message', (m: { type: string; report: WorkerReport }) => {
      this.waiters.get(m.type)?.(m.report);
      this.waiters.delete(m.type);
    });
  }
  ask(message: object, reply: string): Promise<WorkerReport> {
    return new Promise((resolve) => {
      this.waiters.set(reply, resolve);
      this.child.send(message);
    });
  }
  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

async function pollAll(workers: Worker[]): Promise<WorkerReport[]> {
  return Promise.all(workers.map((w) => w.ask({ type: 'poll' }, 'poll')));
}

const total = (reports: WorkerReport[], key: keyof WorkerReport) =>
  reports.reduce((s, r) => s + (r[key] as number), 0);

/** Runs one scenario against one server, in fresh processes. */
export async function runScenario(scenario: Scenario, kind: ServerKind, serverEnv: Record<string, string> = {}): Promise<Measurement> {
  if (scenario.goload && onNats(kind)) throw new Error(`${scenario.name}: the Go load generator takes one address, ${kind} is several servers`);
  if (scenario.goload) return runGoloadScenario(scenario, kind, serverEnv);
  const server = await BenchServers.start(kind, serverEnv);
  let measured: Measurement;
  try {
    measured = await runWorkers(scenario, kind, server);
  } finally {
    await server.stop();
  }
  return withServerReport(measured, server);
}

/** Runs one scenario's clients in the bench's worker processes against a started server. */
async function runWorkers(scenario: Scenario, kind: ServerKind, server: BenchServers): Promise<Measurement> {
  const workers = Array.from({ length: WORKERS }, () => new Worker());
  try {
    const before = server.memory();
    const stableCount = scenario.members;
    const roomSize = scenario.roomSize || stableCount;
    const all = Array.from({ length: scenario.members + scenario.churners }, (_, i) => ({
      userId: i < stableCount ? `m${i}` : `churner${i}`,
      // Churners loop in the first room, where the senders are.
      room: `bench-${i < stableCount ? Math.floor(i / roomSize) : 0}`,
      senderIndex: i < scenario.senders ? i : -1,
    }));
    const churners = all.slice(stableCount).map((c) => c.userId);
    const addresses = server.addresses();
    const tasks: WorkerTask[] = workers.map((_, w) => ({
      // Worker w's connection i goes to server (i + w) % n: the senders, first in each worker, spread over all of them.
      addresses: addresses.map((_, i) => addresses[(i + w) % addresses.length]!),
      clients: all.filter((_, i) => i % WORKERS === w),
      connections: Math.max(1, Math.round(scenario.connections / WORKERS)),
      totalSenders: Math.max(1, scenario.senders),
      messagesPerSender: scenario.messagesPerSender,
      firstIndex: 0,
      measure: true,
      ratePerSender: scenario.ratePerSender,
      payloadBytes: scenario.payloadBytes,
      batch: kind !== 'baseline' && scenario.batch,
      joinNow: scenario.kind !== 'joinStorm',
      churners,
      churnMs: 0,
      expectedPresence: roomSize,
    }));
    await Promise.all(workers.map((w) => w.listening));
    await Promise.all(workers.map((w, i) => w.ask({ type: 'setup', task: tasks[i] }, 'ready')));

    const deadline = Date.now() + scenario.timeoutMs;
    let settled = false;
    const quiet = async () => {
      // Everyone acknowledged, and (ours) every member's view of the room is exact.
      for (;;) {
        const reports = await pollAll(workers);
        const acked = total(reports, 'acked') >= stableCount;
        const exact = kind === 'baseline' || total(reports, 'presenceExact') >= stableCount;
        const joins = kind !== 'baseline' || total(reports, 'joinNotices') >= (stableCount / roomSize) * ((roomSize * (roomSize - 1)) / 2);
        if (process.env.BENCH_DEBUG) {
          // Progress once a second: what the clients see, and who is using the CPU.
          const cpu = [...server.pids(), ...workers.map((w) => w.child.pid!)].map((pid) => cpuSecondsOf(pid).toFixed(1));
          process.stderr.write(
            `acked ${total(reports, 'acked')} exact ${total(reports, 'presenceExact')} joins ${total(reports, 'joinNotices')} cpu s (server, workers) ${cpu.join(' ')}\n`,
          );
        }
        settled = acked && exact && joins;
        if (settled || Date.now() > deadline) return reports;
        await sleep(process.env.BENCH_DEBUG ? 1000 : 20);
      }
    };

    if (scenario.kind === 'joinStorm') {
      const cpu0 = server.cpuSeconds();
      const t0 = performance.now();
      for (const w of workers) w.child.send({ type: 'join' });
      const reports = await quiet();
      const seconds = (performance.now() - t0) / 1000;
      return { ...measure(kind, scenario, reports, seconds, server, before, server.cpuSeconds() - cpu0, 0, 0), complete: settled };
    }
    await quiet();
    if (scenario.kind === 'idle') {
      // Joining leaves garbage behind; let the server settle, then take its RSS.
      let rss = server.memory().rss;
      for (let i = 0; i < 10; i++) {
        await sleep(500);
        rss = Math.min(rss, server.memory().rss);
      }
      if (process.env.BENCH_HEAP_SNAPSHOT) await server.single.heapSnapshot();
      const reports = await pollAll(workers);
      return { ...measure(kind, scenario, reports, 0, server, before, 0, 0, 0), complete: settled, rssPerStreamKB: (rss - before.rss) / 1024 / scenario.members };
    }

    const perMessage = stableCount * scenario.senders;
    const churnMs = scenario.churners > 0 ? (scenario.messagesPerSender / scenario.ratePerSender) * 1000 : 0;
    /** Sends one phase and waits until every member has received it (or the deadline). */
    const phase = async (firstIndex: number, messagesPerSender: number, measure: boolean) => {
      for (const [i, w] of workers.entries()) {
        Object.assign(tasks[i]!, { firstIndex, messagesPerSender, measure, churnMs: measure ? churnMs : 0 });
        w.child.send({ type: 'go', task: tasks[i] });
      }
      const until = perMessage * (firstIndex + messagesPerSender);
      for (;;) {
        const reports = await pollAll(workers);
        if (total(reports, 'received') >= until || Date.now() > deadline) return reports;
        await sleep(20);
      }
    };
    const warmup = scenario.warmupPerSender;
    if (warmup > 0) await phase(0, warmup, false);
    const cpu0 = server.cpuSeconds();
    const nats0 = server.natsCpuSeconds();
    const reports = await phase(warmup, scenario.messagesPerSender, true);
    const expected = perMessage * (warmup + scenario.messagesPerSender);
    const cpu = server.cpuSeconds() - cpu0;
    const nats = server.nats && { natsCpuSeconds: server.natsCpuSeconds() - nats0 };
    const first = Math.min(...reports.map((r) => r.firstSendUs).filter((t) => t > 0));
    const last = Math.max(...reports.map((r) => r.lastReceiveUs));
    return {
      ...measure(kind, scenario, reports, (last - first) / 1e6, server, before, cpu, expected, total(reports, 'churnRounds'), perMessage * warmup),
      messagesSent: scenario.senders * scenario.messagesPerSender,
      ...nats,
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

/** Fills in what only the server's log says, once it has stopped. */
export function withServerReport(m: Measurement, server: Pick<BenchServer, 'backpressure' | 'sink'>): Measurement {
  const bp = server.backpressure;
  if (bp === undefined) return m; // the baseline has no such policy
  const exported = server.sink?.spans();
  return { ...m, serverCutOffs: Object.values(bp.cutOffs).reduce((a, b) => a + b, 0), pauses: bp.roomPauses + bp.serverPauses, ...(exported && { spans: exported.names, links: exported.links }) };
}

function measure(
  kind: ServerKind,
  scenario: Scenario,
  reports: WorkerReport[],
  seconds: number,
  server: BenchServers,
  before: { rss: number },
  cpuSeconds: number,
  expected: number,
  churnRounds: number,
  /** Deliveries of the warm-up, counted for loss but not for speed. */
  warmupDeliveries = 0,
): Measurement {
  const latency = new Histogram();
  for (const r of reports) latency.merge(r.latency);
  const received = total(reports, 'received');
  const deliveries = received - warmupDeliveries;
  const mem = server.memory();
  const acked = total(reports, 'acked');
  return {
    server: kind,
    complete: scenario.kind === 'messages' ? received >= expected : acked >= scenario.members,
    seconds,
    deliveries,
    expected,
    deliveriesPerSecond: seconds > 0 ? deliveries / seconds : 0,
    missing: Math.max(0, expected - received),
    outOfOrder: total(reports, 'outOfOrder'),
    seqGaps: kind !== 'baseline' ? total(reports, 'seqGaps') : 0,
    latencyMs: { p50: latency.quantile(0.5) / 1000, p99: latency.quantile(0.99) / 1000, max: latency.max / 1000 },
    serverCpuUsPerDelivery: deliveries > 0 ? (cpuSeconds * 1e6) / deliveries : 0,
    serverCpuSeconds: cpuSeconds,
    serverRssMB: mem.rss / 2 ** 20,
    serverPeakRssMB: mem.peak / 2 ** 20,
    rssPerStreamKB: (mem.rss - before.rss) / 1024 / Math.max(1, scenario.members),
    churnRounds,
    cutOff: reports.flatMap((r) => r.cutOff),
    serverCutOffs: 0,
    pauses: 0,
    settledSeconds: 0,
  };
}
