/**
 * The Go load generator as a load source: a client of the original chat.v1 built
 * with grpc-go from Debian's packages (bench/goload/, verbatim copies of the
 * team's shared tool), so load comes from a stack that shares nothing with ours
 * and never sets batch_events. `build()` builds it once (build.sh apt-installs
 * Go and gRPC when they are missing); `run()` runs one scenario against a server.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpuSecondsOf } from './BenchServer.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const buildScript = fileURLToPath(new URL('./goload/build.sh', import.meta.url));

let built: Promise<string> | undefined;

/** Builds the load generator (once per bench run) and returns its path. */
export function build(): Promise<string> {
  built ??= promisify(execFile)('bash', [buildScript], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).then(({ stdout }) => stdout.trim().split('\n').at(-1)!);
  return built;
}

/** What the load generator's bench mode reports. */
export interface GoloadReport {
  delivered: number;
  expected: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  reorders: number;
  echoes: number;
  echoesExpected: number;
  /** Seconds from the first send to the last delivery. */
  seconds: number;
}

/** Runs `loadgen -mode bench` to its end and reads its report. */
export async function runBench(binary: string, address: string, args: string[], timeoutMs: number): Promise<GoloadReport> {
  const { stdout } = await promisify(execFile)(binary, ['-addr', address, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  const result = /RESULT .* delivered=(\d+) expected=(\d+) missing=\d+ rate=(\d+)\/s p50=(\S+) p99=(\S+) max=(\S+)/.exec(stdout);
  const delivered = /delivered \(subscribers\): \d+ of \d+ expected in (\S+) ->/.exec(stdout);
  const order = /per-sender reorders seen: (\d+); senders' own echo received: (\d+) of (\d+)/.exec(stdout);
  if (!result || !delivered || !order) throw new Error(`unexpected loadgen output:\n${stdout}`);
  return {
    delivered: Number(result[1]),
    expected: Number(result[2]),
    deliveriesPerSecond: Number(result[3]),
    latencyMs: { p50: goMs(result[4]!), p99: goMs(result[5]!), max: goMs(result[6]!) },
    reorders: Number(order[1]),
    echoes: Number(order[2]),
    echoesExpected: Number(order[3]),
    seconds: goMs(delivered[1]!) / 1000,
  };
}

/** What `loadgen -mode idle` saw of a join storm. */
export interface StormReport {
  /** Seconds until every member had its JoinAck (the load generator's own count). */
  joinSeconds: number;
  /** Seconds until the load generator had read and counted everything sent (its CPU went quiet). */
  settledSeconds: number;
  /** Join notices all members received. */
  notices: number;
  /** The load generator's CPU seconds. */
  clientCpuSeconds: number;
}

/**
 * Runs `loadgen -mode idle` (members join over `-conns` connections, then hold):
 * waits for its "joined" line, then until it and the server have gone quiet
 * (everything sent has been read and counted), calls `whenSettled` (to measure
 * the server at rest), then stops it and reads how many join notices arrived.
 */
export async function runStorm(
  binary: string,
  address: string,
  args: string[],
  { serverPid, timeoutMs, whenSettled }: { serverPid: number; timeoutMs: number; whenSettled: () => Promise<void> },
): Promise<StormReport | undefined> {
  const child = spawn(binary, ['-addr', address, '-mode', 'idle', '-hold', '24h', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const started = performance.now();
  const deadline = started + timeoutMs;
  try {
    for (;;) {
      const joined = /joined room .* in (\S+) \(pid/.exec(out);
      if (joined) {
        const joinSeconds = goMs(joined[1]!) / 1000;
        const settledAt = await quiet([child.pid!, serverPid], deadline);
        if (settledAt === undefined) return undefined;
        await whenSettled();
        const notices = await stop(child, () => /join notices received so far: (\d+)/.exec(out)?.[1]);
        return { joinSeconds, settledSeconds: (settledAt - started) / 1000, notices: Number(notices), clientCpuSeconds: cpuSecondsOf(child.pid!) };
      }
      if (child.exitCode !== null) throw new Error(`loadgen exited: ${out}`);
      if (performance.now() > deadline) return undefined;
      await sleep(50);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until these processes together use less than 5% of a core over a second; returns when they last did work. */
async function quiet(pids: number[], deadline: number): Promise<number | undefined> {
  const cpu = () => pids.reduce((s, pid) => s + cpuSecondsOf(pid), 0);
  let last = cpu();
  for (let at = performance.now(); performance.now() < deadline; ) {
    await sleep(1000);
    const now = cpu();
    if (now - last < 0.05) return at;
    last = now;
    at = performance.now();
  }
  return undefined;
}

/** SIGINT, then the value `read` finds in the output once the process has printed it. */
async function stop(child: ChildProcess, read: () => string | undefined): Promise<string> {
  child.kill('SIGINT');
  for (let i = 0; i < 200; i++) {
    const value = read();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error('loadgen printed no notice count');
}

/** A Go duration as printed ("1.5s", "320.4ms", "870µs") in milliseconds. */
export function goMs(text: string): number {
  const match = /^([\d.]+)(h|m|s|ms|µs|us|ns)$/.exec(text);
  if (!match) {
    // Composite durations ("1m2.5s").
    const parts = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(text);
    if (!parts) throw new Error(`not a Go duration: ${text}`);
    return ((Number(parts[1] ?? 0) * 60 + Number(parts[2] ?? 0)) * 60 + Number(parts[3] ?? 0)) * 1000;
  }
  const scale = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, µs: 0.001, us: 0.001, ns: 0.000001 }[match[2] as 'h'];
  return Number(match[1]) * scale;
}
