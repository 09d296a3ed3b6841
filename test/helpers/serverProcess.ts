import type { ChildProcess } from 'node:child_process';
import { killTree, type ProcessOptions, spawnProcess } from './spawnProcess.js';
import { waitFor } from './waitFor.js';

/** `npm start`'s command, run as its own process (the server, not npm, gets the signals). */
export const startCommand = [process.execPath, '--import', 'tsx', 'src/server/main.ts'];

/** A server started as a real process, with its output kept line by line. */
export class ServerProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private constructor(readonly child: ChildProcess) {
    const keep = (into: string[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        into.push(...lines);
      };
    };
    child.stdout!.on('data', keep(this.stdout));
    child.stderr!.on('data', keep(this.stderr));
    child.on('exit', (code, signal) => (this.exit = { code, signal }));
  }

  /** Starts the server with these flags and environment (on top of a clean one). */
  static spawn(args: string[], env: Record<string, string> = {}): ServerProcess {
    return ServerProcess.run([...startCommand, ...args], { env });
  }

  /** Runs this command as the server (the image test runs the Dockerfile's). */
  static run(argv: string[], options: ProcessOptions = {}): ServerProcess {
    return new ServerProcess(spawnProcess(argv, options, ['ignore', 'pipe', 'pipe']));
  }

  /** The JSON log lines written so far. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Waits for the "listening" log line and returns the port. */
  async port(timeoutMs = 15000): Promise<number> {
    const line = await waitFor(() => this.logs().find((l) => l.event === 'listening') ?? (this.exit && 'exited'), {
      timeoutMs,
      what: 'the server to listen',
    });
    if (line === 'exited') throw new Error(`server exited: ${this.stderr.join('\n')}`);
    return line.port as number;
  }

  async waitExit(timeoutMs = 15000) {
    return waitFor(() => this.exit, { timeoutMs, what: 'the server process to exit' });
  }

  /** Kills the process if it is still running and waits for it. */
  async kill(): Promise<void> {
    if (this.exit === undefined) {
      killTree(this.child.pid!);
      await this.waitExit();
    }
  }
}
