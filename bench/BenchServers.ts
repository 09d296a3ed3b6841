import { addReports, type BackpressureReport, BenchServer, type ServerKind } from './BenchServer.js';
import { NatsServer } from './NatsServer.js';

/** The kinds that run on a NATS backplane: how many server processes on their own ports, and how many workers each. */
const clusterShapes: Partial<Record<ServerKind, { nodes: number; workers: number }>> = {
  'nats-1': { nodes: 1, workers: 1 },
  'nats-2': { nodes: 2, workers: 1 },
  'nats-3': { nodes: 3, workers: 1 },
  'nats-workers-2': { nodes: 1, workers: 2 },
};

/** Whether a kind needs a nats-server (and so runs only with the bench's own workers, not the Go load generator). */
export const onNats = (kind: ServerKind): boolean => kind in clusterShapes;

/**
 * What a run measures, as one server: one BenchServer, or for the nats-* kinds a
 * nats-server of its own and the server processes sharing rooms through it.
 * CPU and memory are summed over the server processes; nats-server's CPU is its own figure.
 */
export class BenchServers {
  private constructor(
    readonly servers: BenchServer[],
    readonly nats?: NatsServer,
  ) {}

  static async start(kind: ServerKind, env: Record<string, string> = {}): Promise<BenchServers> {
    const shape = clusterShapes[kind];
    if (!shape) return new BenchServers([await BenchServer.start(kind, env)]);
    const nats = await NatsServer.start();
    const servers: BenchServer[] = [];
    try {
      // One after the other: the first creates the stream and buckets, the others find them.
      for (let i = 0; i < shape.nodes; i++) servers.push(await BenchServer.start(kind, { ...env, CHAT_NATS_URL: nats.url }, shape.workers));
    } catch (error) {
      await Promise.all(servers.map((s) => s.stop()));
      await nats.stop();
      throw error;
    }
    return new BenchServers(servers, nats);
  }

  /** Where clients connect, one address per server process with a port of its own. */
  addresses(): string[] {
    return this.servers.map((s) => `127.0.0.1:${s.port}`);
  }

  /** Every server process (not nats-server), for progress lines. */
  pids(): number[] {
    return this.servers.flatMap((s) => s.pids());
  }

  /** CPU seconds of all the server processes together. */
  cpuSeconds(): number {
    return this.servers.reduce((sum, s) => sum + s.cpuSeconds(), 0);
  }

  /** nats-server's CPU seconds (0 without one). */
  natsCpuSeconds(): number {
    return this.nats?.cpuSeconds() ?? 0;
  }

  /** RSS now and at peak, summed over the server processes. */
  memory(): { rss: number; peak: number } {
    return this.servers.map((s) => s.memory()).reduce((a, b) => ({ rss: a.rss + b.rss, peak: a.peak + b.peak }));
  }

  /** The backpressure reports of every server, added up (once they have stopped). */
  get backpressure(): BackpressureReport | undefined {
    return this.servers.map((s) => s.backpressure).reduce(addReports);
  }

  /** Where the one server's telemetry goes (ours+otel kinds). */
  get sink(): BenchServer['sink'] {
    return this.single.sink;
  }

  /** The one server, for what only a single process can do (heap snapshots, the OTLP sink). */
  get single(): BenchServer {
    return this.servers[0]!;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    await this.nats?.stop();
  }
}
