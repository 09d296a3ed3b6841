import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Where and as whom a helper's process runs. */
export interface ProcessOptions {
  /** Default: the repository. */
  cwd?: string;
  /** On top of a clean environment (PATH and HOME only). */
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
}

/** Runs `argv` on a clean environment: what ServerProcess and LineClient start their processes with. */
export function spawnProcess(argv: string[], { cwd = root, env = {}, uid, gid }: ProcessOptions, stdio: StdioOptions): ChildProcess {
  const [command, ...rest] = argv as [string, ...string[]];
  return spawn(command, rest, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio,
    uid,
    gid,
  });
}

/**
 * SIGKILL to a process and everything it started (read from /proc): tini, for
 * one, cannot pass SIGKILL on and puts its child in a process group of its own,
 * and tsx starts an esbuild service. A survivor would keep the test's pipes open.
 */
export function killTree(pid: number): void {
  const descendants = (of: number): number[] => {
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${of}/task/${of}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // gone already
    }
    return children.flatMap((child) => [child, ...descendants(child)]);
  };
  for (const target of [pid, ...descendants(pid)]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
