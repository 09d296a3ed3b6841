import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './waitFor.js';

/**
 * A private tmux server (its own socket, `tmux -S` in a fresh temporary directory) for driving terminal
 * programs: start them in detached sessions of a fixed size, type into them and
 * read their screens. kill() ends the server and every program in it.
 */
export class Tmux {
  private readonly dir = mkdtempSync(join(tmpdir(), 'chat-tmux-'));
  /** The server's socket: its own per run (like `tmux -L`), and removed with the directory. */
  readonly socket = join(this.dir, 'tmux.sock');
  private readonly config = join(this.dir, 'tmux.conf');

  constructor() {
    const version = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
    if (version.error || version.status !== 0) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new Error(`tmux is needed for the terminal UI tests and was not found (${version.error?.message ?? version.stderr}); install it: apt-get install tmux`);
    }
    // No status line (the pane gets the whole window); a dead pane stays, so its exit status can be read.
    writeFileSync(this.config, ['set -g status off', 'set -g remain-on-exit on', 'set -g history-limit 1000', ''].join('\n'));
  }

  /** Runs `command` (argv, quoted for the shell tmux uses) in a new detached session `name` of `width`×`height`, with `env` on top of PATH and HOME. */
  start(name: string, command: string[], env: Record<string, string> = {}, { width = 100, height = 30, cwd = process.cwd() } = {}): void {
    const vars = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
    const program = ['env', '-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...command].map(quote).join(' ');
    const line = `${program}; echo $? > ${quote(this.statusFile(name))}`;
    this.tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), '-c', cwd, line);
  }

  /** Ends session `name` (its program gets SIGHUP); nothing if it is gone already. */
  killSession(name: string): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-session', '-t', name], { stdio: 'ignore' });
  }

  /** The pane's text now, one string, rows joined by newlines. */
  capture(name: string): string {
    return this.tmux('capture-pane', '-p', '-t', name);
  }

  /** Sends keys by tmux name (`Enter`, `Tab`, `C-c`); other words are typed as they are. */
  sendKeys(name: string, ...keys: string[]): void {
    this.tmux('send-keys', '-t', name, ...keys);
  }

  /** Resizes session `name`'s window, as a user dragging the terminal would (the program gets SIGWINCH). */
  resize(name: string, width: number, height: number): void {
    this.tmux('resize-window', '-t', name, '-x', String(width), '-y', String(height));
  }

  /** Types `text` literally (no key names). */
  type(name: string, text: string): void {
    this.tmux('send-keys', '-t', name, '-l', text);
  }

  /** Waits until the screen shows `text` (or matches it); returns that screen. The error shows the last one. */
  async waitForText(name: string, text: string | RegExp, timeoutMs = 10000): Promise<string> {
    let screen = '';
    try {
      return await waitFor(
        () => {
          screen = this.capture(name);
          return (typeof text === 'string' ? screen.includes(text) : text.test(screen)) && screen;
        },
        { timeoutMs, intervalMs: 25, what: `${String(text)} on ${name}'s screen` },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${name} ---\n${screen}`);
    }
  }

  /** The pane's program has ended: its exit status (128 + n for signal n); undefined while it runs. */
  exitStatus(name: string): number | undefined {
    if (this.tmux('display-message', '-p', '-t', name, '#{pane_dead}').trim() !== '1') return undefined;
    // tmux's own #{pane_dead_status} is sometimes never filled in (tmux 3.3a): the shell around the program writes it.
    return Number(readFileSync(this.statusFile(name), 'utf8').trim());
  }

  /** Waits for the pane's program to end; returns its exit status. */
  async waitExit(name: string, timeoutMs = 10000): Promise<number> {
    return waitFor(() => this.exitStatus(name), { timeoutMs, intervalMs: 25, what: `the program in ${name} to end` });
  }

  /** Ends the tmux server (and what runs in it). Safe to call twice. */
  kill(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server'], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private statusFile(name: string): string {
    return join(this.dir, `${name}.status`);
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-u', '-S', this.socket, '-f', this.config, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** One word for sh. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
