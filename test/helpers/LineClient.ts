import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { killTree, type ProcessOptions, spawnProcess } from './spawnProcess.js';
import { waitFor } from './waitFor.js';

/** chat-tui (`node bin/chat-tui.js`) as a real process on pipes: stdin kept open, output kept line by line. */
export class LineClient {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private stderrTail = '';

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      this.stdout.push(...lines);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // Prompts ("Your name: ") end without a newline: keep the unfinished tail visible too.
      const lines = (this.stderrTail + chunk.toString('utf8')).split('\n');
      this.stderrTail = lines.pop() ?? '';
      this.stderr.push(...lines);
    });
    // A write after the child exited must not crash the test run.
    child.stdin.on('error', () => {});
    child.on('exit', (code, signal) => {
      if (this.stderrTail !== '') this.stderr.push(this.stderrTail);
      this.stderrTail = '';
      this.exit = { code, signal };
    });
  }

  /** Starts chat-tui with these flags on a clean environment (plus `env`). */
  static spawn(args: string[], env: Record<string, string> = {}): LineClient {
    return LineClient.run([process.execPath, 'bin/chat-tui.js', ...args], { env });
  }

  /** Runs this command as chat-tui (the image test runs the compose client's). */
  static run(argv: string[], options: ProcessOptions = {}): LineClient {
    return new LineClient(spawnProcess(argv, options, ['pipe', 'pipe', 'pipe']) as ChildProcessWithoutNullStreams);
  }

  /** Everything written to stderr, the unfinished last line included. */
  get stderrText(): string {
    return [...this.stderr, this.stderrTail].join('\n');
  }

  /** Writes one line to stdin. */
  say(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Closes stdin (end of input). */
  end(): void {
    this.child.stdin.end();
  }

  /**
   * Waits for an output line matching `pattern` at index `from` or later;
   * returns its index. The error shows the output so far.
   */
  async waitForLine(pattern: RegExp | string, { from = 0, timeoutMs = 10000 }: { from?: number; timeoutMs?: number } = {}): Promise<number> {
    const matches = (line: string) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line));
    try {
      return await waitFor(
        () => {
          const at = this.stdout.findIndex((line, i) => i >= from && matches(line));
          return at >= 0 ? at : undefined;
        },
        { timeoutMs, intervalMs: 10, what: `a line matching ${String(pattern)}` },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- stdout ---\n${this.stdout.join('\n')}\n--- stderr ---\n${this.stderrText}`);
    }
  }

  async waitExit(timeoutMs = 10000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return waitFor(() => this.exit, { timeoutMs, what: 'chat-tui to exit' });
  }

  /** Kills the process if it is still running and waits for it. */
  async kill(): Promise<void> {
    if (this.exit === undefined) {
      killTree(this.child.pid!);
      await this.waitExit();
    }
  }
}
