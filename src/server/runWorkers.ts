import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** Where a worker finds its index, 1 to N; a restarted worker keeps the index of the one it replaces. */
export const WORKER_INDEX_VARIABLE = 'CHAT_WORKER_INDEX';

/** How a primary restarts workers that die, and when it gives up. */
export interface RestartPolicy {
  /** Wait before the first restart of a worker; doubled for each further exit in the window. */
  backoffMs: number;
  maxBackoffMs: number;
  /** A worker that exits more often than this within windowMs is crash-looping: everything stops. */
  maxRestarts: number;
  windowMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { backoffMs: 100, maxBackoffMs: 5_000, maxRestarts: 5, windowMs: 60_000 };

export interface WorkersOptions {
  count: number;
  log: Logger;
  /** The script each worker runs, and its arguments; by default this process's own. */
  exec?: string;
  args?: string[];
  restarts?: Partial<RestartPolicy>;
}

/** How the primary ended: the exit code it should exit with, and why when that is not 0. */
export interface WorkersResult {
  code: number;
  error?: string;
}

/**
 * The primary of `--workers N`: forks N workers with node:cluster (they listen on
 * one port through the cluster's shared handle), restarts those that die, and on
 * SIGINT/SIGTERM has every worker drain. Resolves once all have exited.
 */
export function runWorkers({ count, log, exec, args, restarts }: WorkersOptions): Promise<WorkersResult> {
  const policy = { ...defaultRestartPolicy, ...restarts };
  if (exec !== undefined) cluster.setupPrimary({ exec, args: args ?? [] });
  const live = new Map<number, Worker>();
  const pending = new Map<number, NodeJS.Timeout>();
  const exits = new Map<number, number[]>();
  const listened = new Set<number>();
  let stopping = false;
  let failed = false;
  let error: string | undefined;

  return new Promise((resolve) => {
    const finish = () => {
      if (!stopping || live.size > 0) return;
      for (const signal of SIGNALS) process.off(signal, onSignal);
      log.info({ event: 'workers_end', failed });
      resolve({ code: failed ? 1 : 0, ...(error === undefined ? {} : { error }) });
    };

    const stop = (why: string) => {
      if (stopping) {
        // A second signal does not wait for the drains, as one process's second Ctrl-C does not.
        log.warn({ event: 'workers_kill', why, workers: live.size });
        for (const worker of live.values()) worker.process.kill('SIGKILL');
        return;
      }
      stopping = true;
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      log.info({ event: 'workers_stop', why, workers: live.size });
      // SIGTERM for SIGINT too: a Ctrl-C in a terminal reaches the workers as SIGINT
      // as well, and two different signals each start the (one) drain, not a kill.
      for (const worker of live.values()) worker.process.kill('SIGTERM');
      finish();
    };
    function onSignal(signal: NodeJS.Signals) {
      stop(signal);
    }

    const start = (index: number) => {
      const worker = cluster.fork({ [WORKER_INDEX_VARIABLE]: String(index) });
      const pid = worker.process.pid;
      live.set(index, worker);
      log.info({ event: 'worker_start', worker: index, workerPid: pid });
      worker.once('listening', (address) => {
        if (listened.has(index)) return;
        listened.add(index);
        // One `listening` line, once every worker takes connections: what a reader of one server's log waits for.
        if (listened.size === count) log.info({ event: 'listening', host: address.address, port: address.port, workers: count });
      });
      worker.on('exit', (code, signal) => {
        live.delete(index);
        if (stopping) {
          if (code !== 0) failed = true;
          log[code === 0 ? 'info' : 'warn']({ event: 'worker_exit', worker: index, workerPid: pid, code, signal });
          finish();
          return;
        }
        const now = Date.now();
        const recent = [...(exits.get(index) ?? []).filter((at) => now - at < policy.windowMs), now];
        exits.set(index, recent);
        if (recent.length > policy.maxRestarts) {
          log.error({ event: 'worker_exit', worker: index, workerPid: pid, code, signal, restarting: false });
          failed = true;
          error = `worker ${index} exited ${recent.length} times within ${policy.windowMs} ms (last: ${signal ?? `code ${code}`}): stopping every worker`;
          log.error({ event: 'crash_loop', worker: index, exits: recent.length, windowMs: policy.windowMs });
          stop('crash_loop');
          return;
        }
        const delay = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (recent.length - 1));
        log.warn({ event: 'worker_exit', worker: index, workerPid: pid, code, signal, restartInMs: delay });
        pending.set(
          index,
          setTimeout(() => {
            pending.delete(index);
            start(index);
          }, delay),
        );
      });
    };

    for (const signal of SIGNALS) process.on(signal, onSignal);
    for (let index = 1; index <= count; index++) start(index);
  });
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
