import { connect } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/waitFor.js';

/** The primary of test/helpers/workersPrimary.ts, with its tiny workers. */
const primary = (env: Record<string, string> = {}) => ServerProcess.run([process.execPath, '--import', 'tsx', 'test/helpers/workersPrimary.ts'], { env });

/** The pid of the worker that took a fresh connection to the shared port. */
function whoAnswers(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(Number(text.trim())));
    socket.on('error', reject);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

type Line = Record<string, unknown>;
const events = (proc: ServerProcess, event: string) => proc.logs().filter((l) => l.event === event);
const startsOf = (proc: ServerProcess, worker: number) => events(proc, 'worker_start').filter((l) => l.worker === worker);

describe('runWorkers (the primary of --workers)', () => {
  let proc: ServerProcess | undefined;
  afterEach(async () => {
    await proc?.kill();
    proc = undefined;
  });

  it('starts N workers on one shared port, and restarts one killed with SIGKILL under the same index', async () => {
    proc = primary({ WORKERS: '3' });
    const port = await proc.port();
    expect(events(proc, 'worker_start').map((l) => l.worker)).toEqual([1, 2, 3]);
    const pids = events(proc, 'worker_start').map((l) => l.workerPid as number);
    // Round robin: fresh connections reach every worker, on the one port.
    const answered = new Set<number>();
    await waitFor(async () => (answered.add(await whoAnswers(port)), answered.size === 3), { timeoutMs: 10000, what: 'every worker to answer' });
    expect([...answered].sort()).toEqual([...pids].sort());

    const victim = startsOf(proc, 2)[0]!.workerPid as number;
    process.kill(victim, 'SIGKILL');
    const restarted = await waitFor(() => startsOf(proc!, 2)[1], { timeoutMs: 5000, what: 'worker 2 to be started again' });
    expect(events(proc, 'worker_exit')).toEqual([expect.objectContaining({ worker: 2, workerPid: victim, code: null, signal: 'SIGKILL', restartInMs: 20 })]);
    expect(restarted.workerPid).not.toBe(victim);
    await waitFor(async () => (await whoAnswers(port)) === restarted.workerPid, { timeoutMs: 10000, what: 'the new worker 2 to answer' });
    // One `listening` line: the port is announced once, not again for a restart.
    expect(events(proc, 'listening')).toEqual([expect.objectContaining({ port, workers: 3 })]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to the primary stops every worker, and it exits 0 once they have', async (signal) => {
    proc = primary();
    await proc.port();
    const pids = events(proc, 'worker_start').map((l) => l.workerPid as number);
    proc.child.kill(signal);
    expect(await proc.waitExit()).toEqual({ code: 0, signal: null });
    expect(events(proc, 'workers_stop')).toEqual([expect.objectContaining({ why: signal, workers: 2 })]);
    const exits = events(proc, 'worker_exit').map((l: Line) => [l.worker, l.code, l.signal]);
    expect(exits.sort()).toEqual([[1, 0, null], [2, 0, null]]);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('exits 1 when a worker fails as it stops', async () => {
    proc = primary({ TINY_WORKER_ON_SIGTERM: 'fail' });
    await proc.port();
    proc.child.kill('SIGTERM');
    expect((await proc.waitExit()).code).toBe(1);
    expect(events(proc, 'worker_exit').map((l) => l.code)).toEqual([4, 4]);
  });

  it('a second signal kills workers that are still stopping, and the primary exits 1', async () => {
    proc = primary({ TINY_WORKER_ON_SIGTERM: 'hang' });
    await proc.port();
    proc.child.kill('SIGTERM');
    await waitFor(() => events(proc!, 'workers_stop')[0], { what: 'the primary to stop its workers' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(proc.exit).toBeUndefined();
    proc.child.kill('SIGTERM');
    expect((await proc.waitExit()).code).toBe(1);
    expect(events(proc, 'worker_exit').map((l) => l.signal)).toEqual(['SIGKILL', 'SIGKILL']);
  });

  it('a crash-looping worker stops the others, and the primary exits 1 saying which and why', async () => {
    proc = primary({ TINY_WORKER_CRASH: '2' });
    expect((await proc.waitExit()).code).toBe(1);
    expect(proc.stderr.join('\n')).toMatch(/^primary: worker 2 exited 4 times within 10000 ms \(last: code 3\): stopping every worker$/m);
    // Backoff doubles: 20, 40, 80 ms; the fourth exit is one too many.
    expect(events(proc, 'worker_exit').filter((l) => l.worker === 2).map((l) => l.restartInMs)).toEqual([20, 40, 80, undefined]);
    expect(events(proc, 'crash_loop')).toEqual([expect.objectContaining({ level: 50, worker: 2, exits: 4 })]);
    // Worker 1 was stopped, not left running.
    expect(events(proc, 'worker_exit').filter((l) => l.worker === 1)).toHaveLength(1);
    expect(alive(startsOf(proc, 1)[0]!.workerPid as number)).toBe(false);
    expect(events(proc, 'listening')).toEqual([]);
  });
});
