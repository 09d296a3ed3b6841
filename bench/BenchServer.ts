import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OtlpSink } from './OtlpSink.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const TICKS_PER_SECOND = 100; // Linux USER_HZ, what /proc/<pid>/stat counts in

/**
 * Which server a run measures: ours (telemetry off); ours exporting telemetry to
 * an OtlpSink, with OpenTelemetry's default sampler ('ours+otel',
 * parentbased_always_on: every message traced, though the bench's clients send
 * no trace context) or with the sampler for load ('ours+otel-ratio',
 * parentbased_traceidratio at 0.01: 1% of the streams, and so of the messages,
 * that start no trace of their own); the plain grpc-js baseline; or ours on a
 * NATS JetStream backplane (docs/scale-out.md), as 1, 2 or 3 processes on their
 * own ports ('nats-N') or 2 behind one port ('nats-workers-2'), see BenchServers.
 */
export type ServerKind = 'ours' | 'ours+otel' | 'ours+otel-ratio' | 'baseline' | 'nats-1' | 'nats-2' | 'nats-3' | 'nats-workers-2';

/** What each kind is, for the results. */
export const serverKinds: Record<ServerKind, string> = {
  ours: 'our server, telemetry off',
  baseline: 'the plain grpc-js baseline (bench/baselineServer.ts)',
  'ours+otel': 'our server with telemetry on and exported (OTEL_EXPORTER_OTLP_ENDPOINT only): the default sampler, parentbased_always_on, traces every message',
  'ours+otel-ratio': 'ours+otel with OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01 (the setting for load): 1% of the streams, and their messages, traced',
  'nats-1': 'our server, one process with CHAT_NATS_URL on a nats-server (JetStream) the bench starts: what the backplane costs with no other node',
  'nats-2': 'two processes of our server on their own ports, one nats-server; the members and senders spread round robin over them',
  'nats-3': 'three processes of our server on their own ports, one nats-server; the members and senders spread round robin over them',
  'nats-workers-2': '`npm start -- --workers 2` with CHAT_NATS_URL: two worker processes behind one port (node:cluster hands out the connections), one nats-server; nats-1 is the same with --workers 1',
};

/** What our server's drain_end log line says its backpressure policy did (see Hub.backpressure). */
export interface BackpressureReport {
  roomPauses: number;
  serverPauses: number;
  cutOffs: Record<string, number>;
}

/** A server under test, in its own process (or a primary and its workers), read through /proc (and, for ours, its log). */
export class BenchServer {
  /** From the drain_end lines (one per worker), once the server has stopped (ours only). */
  backpressure: BackpressureReport | undefined;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    /** Where its telemetry goes, for 'ours+otel' and 'ours+otel-ratio'. */
    readonly sink?: OtlpSink,
    /** With --workers: the worker processes (from the primary's worker_start lines), whose CPU and memory count too. */
    private readonly workerPids: number[] = [],
  ) {
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"drain_end"')) this.backpressure = addReports(this.backpressure, (JSON.parse(line) as { backpressure?: BackpressureReport }).backpressure);
      }
    });
  }

  /** Starts one server (with `workers` > 1: a primary and its workers behind one port). */
  static async start(kind: ServerKind, env: Record<string, string> = {}, workers = 1): Promise<BenchServer> {
    const ours = kind !== 'baseline';
    const script = ours ? 'src/server/main.ts' : 'bench/baselineServer.ts';
    const args = ours ? ['--host', '127.0.0.1', '--port', '0', ...(workers > 1 ? ['--workers', String(workers)] : [])] : ['0'];
    const sink = kind.startsWith('ours+otel') ? await OtlpSink.start() : undefined;
    if (sink) {
      // Spans and metrics (each second) exported as configured.
      Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_METRIC_EXPORT_INTERVAL: '1000' });
      if (kind === 'ours+otel-ratio') Object.assign(env, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' });
    }
    // BENCH_CPU_PROF=DIR writes a V8 CPU profile of the server there (read it with bench/topFunctions.ts).
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    // BENCH_HEAP_SNAPSHOT=DIR: the idle scenario writes a heap snapshot of the settled server there.
    if (process.env.BENCH_HEAP_SNAPSHOT) profile.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.BENCH_HEAP_SNAPSHOT}`);
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, ...args], {
      cwd: root,
      env: {
        ...process.env,
        // Full speed by design: no rate limit, and churners join and leave as fast
        // as their acks come. Every other limit is the default:
        // backpressure, not bigger queues, keeps the bench lossless.
        CHAT_RATE_PER_SECOND: '0',
        CHAT_JOIN_RATE_PER_SECOND: '0',
        CHAT_ROOM_CHURN_PER_SECOND: '0',
        CHAT_MAX_ROOMS_PER_STREAM: '4',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const workerPids: number[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      const listen = (chunk: Buffer) => {
        buffered += chunk.toString();
        const match = /"port":(\d+)/.exec(buffered);
        if (!match) return;
        child.stdout!.off('data', listen);
        // A primary names its workers before it listens.
        for (const pid of buffered.matchAll(/"event":"worker_start".*?"workerPid":(\d+)/g)) workerPids.push(Number(pid[1]));
        resolve(Number(match[1]));
      };
      child.stdout!.on('data', listen);
      child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before listening`)));
    });
    return new BenchServer(child, port, sink, workerPids);
  }

  /** The server's processes: the one, or the primary and its workers. */
  pids(): number[] {
    return [this.child.pid!, ...this.workerPids];
  }

  /** CPU time (user + system) the server has used, in seconds (every process of it). */
  cpuSeconds(): number {
    return this.pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  }

  /** Resident memory now and at its peak, in bytes (summed over its processes). */
  memory(): { rss: number; peak: number } {
    let rss = 0;
    let peak = 0;
    for (const pid of this.pids()) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
      rss += kb('VmRSS');
      peak += kb('VmHWM');
    }
    return { rss, peak };
  }

  /** Writes a heap snapshot (the server must run with BENCH_HEAP_SNAPSHOT set) and waits until it is written. */
  async heapSnapshot(): Promise<void> {
    const dir = process.env.BENCH_HEAP_SNAPSHOT!;
    const count = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length;
    const before = count();
    this.child.kill('SIGUSR2');
    // The snapshot blocks the server while it is written; its size settles when done.
    while (count() === before) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 5000));
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    await this.sink?.close();
  }

  private async stopProcess(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Two servers' (or workers') reports as one: pauses and cut-offs added up. */
export function addReports(a: BackpressureReport | undefined, b: BackpressureReport | undefined): BackpressureReport | undefined {
  if (!a || !b) return a ?? b;
  const cutOffs = { ...a.cutOffs };
  for (const [cause, n] of Object.entries(b.cutOffs)) cutOffs[cause] = (cutOffs[cause] ?? 0) + n;
  return { roomPauses: a.roomPauses + b.roomPauses, serverPauses: a.serverPauses + b.serverPauses, cutOffs };
}

/** CPU time (user + system) a process has used, in seconds, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
