import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess } from './spawnProcess.js';
import { waitFor } from './waitFor.js';

/** How a NatsServer is started; NatsCluster fills in the cluster's part. */
export interface NatsServerOptions {
  /** Flags after the helper's own (cluster flags, `--server_name`, …). */
  args?: string[];
  /** Client port; default: the server picks one (`-p -1`) and the helper reads it from the ports file. */
  port?: number;
  /** Monitoring port; default: picked like `port`. */
  httpPort?: number;
  /**
   * Holds the store (`store/`) and the ports file; default: a fresh temp dir that
   * stop() removes. A dir passed in is kept, so a restart finds its store again.
   */
  dir?: string;
  /** How long start() waits for connections and JetStream. Default 15 s. */
  timeoutMs?: number;
  /** Also required before start() resolves (a cluster waits for its meta leader here). */
  ready?: (server: NatsServer) => Promise<boolean>;
}

/** The ports the server writes to `--ports_file_dir` once it listens (nats-server's `Ports`). */
interface PortsFile {
  nats: string[];
  monitoring: string[];
  cluster?: string[];
}

/**
 * Processes still running and temp dirs not yet removed: if the test process
 * exits without stopping them (a crash, a forced exit), it SIGKILLs and removes them.
 */
const running = new Set<ChildProcess>();
const leftDirs = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of leftDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A real nats-server (Debian's 2.9.10) with JetStream on, started for a test.
 * Ports come from the server itself (`-1` and `--ports_file_dir`), so there is no
 * window between choosing a free port and binding it.
 */
export class NatsServer {
  /** The server's log (it logs to stderr), line by line. */
  readonly log: string[] = [];
  /** Set once the process has exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private ports: PortsFile = { nats: [], monitoring: [] };

  private constructor(
    private readonly child: ChildProcess,
    /** Where the store and the ports file are. */
    readonly dir: string,
    private readonly ownsDir: boolean,
  ) {
    running.add(child);
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      this.log.push(...lines);
    });
    child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      running.delete(child);
    });
    // Spawning itself failed (no nats-server on PATH): there will be no 'exit'.
    child.once('error', (error) => {
      this.log.push(String(error));
      this.exit ??= { code: null, signal: null };
      running.delete(child);
    });
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** nats://127.0.0.1:PORT */
  get url(): string {
    return this.ports.nats[0]!;
  }

  /** http://127.0.0.1:PORT of the monitoring endpoints. */
  get monitorUrl(): string {
    return this.ports.monitoring[0]!;
  }

  /** The client port. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** The monitoring port. */
  get httpPort(): number {
    return Number(new URL(this.monitorUrl).port);
  }

  /** Starts a server and resolves once it accepts connections and JetStream is ready. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const { args = [], port = -1, httpPort = -1, timeoutMs = 15_000, ready } = options;
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'nats-server-'));
    if (ownsDir) leftDirs.add(dir);
    const argv = [
      'nats-server',
      ...['-a', '127.0.0.1', '-p', String(port), '-m', String(httpPort)],
      ...['-js', '-sd', join(dir, 'store'), '--ports_file_dir', dir],
      ...args,
    ];
    const server = new NatsServer(spawnProcess(argv, {}, ['ignore', 'ignore', 'pipe']), dir, ownsDir);
    const failed = (what: string) =>
      new Error(`nats-server ${what}: ${argv.join(' ')}\n${server.log.slice(-15).join('\n')}`);
    const exited = () => {
      if (server.exit) throw failed(`exited (${server.exit.code ?? server.exit.signal}) while starting`);
    };
    try {
      // Written once every listener is up, named after the pid (a restart in the same dir leaves the old one).
      server.ports = await waitFor(
        () => {
          exited();
          const file = readdirSync(dir).find((name) => name.endsWith(`_${server.pid}.ports`));
          return file ? (JSON.parse(readFileSync(join(dir, file), 'utf8')) as PortsFile) : undefined;
        },
        { timeoutMs, intervalMs: 20, what: 'nats-server to write its ports file' },
      );
      await waitFor(
        async () => {
          exited();
          return (await server.accepts()) && (await server.healthy()) && (ready === undefined || (await ready(server)));
        },
        { timeoutMs, intervalMs: 50, what: `nats-server on ${server.url} to accept connections with JetStream ready` },
      );
      return server;
    } catch (error) {
      await server.kill('SIGKILL');
      if (ownsDir) server.removeDir();
      throw error;
    }
  }

  /** Whether a client connection gets the server's INFO line. */
  accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('data', (chunk: Buffer) => done(chunk.toString('utf8').startsWith('INFO ')));
      socket.once('error', () => done(false));
    });
  }

  /**
   * Whether `/healthz` says ok. Without `js-enabled-only` it checks JetStream too:
   * a 2.9.10 cluster node answers 503 "JetStream has not established contact with
   * a meta leader" until there is one.
   */
  async healthy(): Promise<boolean> {
    try {
      const response = await fetch(`${this.monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      return response.ok && ((await response.json()) as { status?: string }).status === 'ok';
    } catch {
      return false;
    }
  }

  /** A monitoring endpoint's JSON (`/jsz?streams=true`, `/varz`, …). */
  async monitor<T = Record<string, unknown>>(path: string): Promise<T> {
    const response = await fetch(`${this.monitorUrl}${path}`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) throw new Error(`${this.monitorUrl}${path}: ${response.status}`);
    return (await response.json()) as T;
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<void> {
    if (this.exit) return;
    this.child.kill(signal);
    await waitFor(() => this.exit, { timeoutMs, intervalMs: 10, what: `nats-server ${this.pid} to exit on ${signal}` });
  }

  /**
   * Shuts down gracefully (SIGTERM; SIGKILL after 10 s) and removes the temp dir
   * it made. Safe twice and after kill(), so it fits afterEach/afterAll.
   */
  async stop(): Promise<void> {
    try {
      await this.kill('SIGTERM');
    } catch {
      await this.kill('SIGKILL');
    }
    if (this.ownsDir) this.removeDir();
  }

  private removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
    leftDirs.delete(this.dir);
  }
}
