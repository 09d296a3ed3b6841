import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf } from './BenchServer.js';

/** Where the bench finds nats-server (Debian's package puts it in /usr/sbin); BENCH_NATS_SERVER overrides. */
const NATS_SERVER = process.env.BENCH_NATS_SERVER ?? 'nats-server';

/** A nats-server with JetStream for one run: a free port, its own store directory, both gone after stop(). */
export class NatsServer {
  private constructor(
    readonly child: ChildProcess,
    /** What CHAT_NATS_URL is set to. */
    readonly url: string,
    private readonly storeDir: string,
  ) {}

  static async start(): Promise<NatsServer> {
    const port = await freePort();
    const storeDir = mkdtempSync(join(tmpdir(), 'bench-nats-'));
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      // nats-server logs to stderr; "Server is ready" comes once it takes clients (JetStream included).
      await new Promise<void>((resolve, reject) => {
        let log = '';
        child.stderr!.on('data', (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes('Server is ready')) resolve();
        });
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`nats-server exited with ${code} before it was ready:\n${log}`)));
      });
    } catch (error) {
      rmSync(storeDir, { recursive: true, force: true });
      throw error;
    }
    child.stderr!.resume();
    return new NatsServer(child, `nats://127.0.0.1:${port}`, storeDir);
  }

  /** CPU time (user + system) nats-server has used, in seconds. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.child.pid!);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** A port nothing listens on now, from the kernel (taken and let go at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
