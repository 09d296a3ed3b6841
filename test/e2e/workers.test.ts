import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ChatClient } from '../../src/client/ChatClient.js';
import { EventLog } from '../helpers/EventLog.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/waitFor.js';

/** A port nothing listens on (the nats-server below needs one given). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('npm start -- --workers N', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const spawn = (args: string[], env: Record<string, string> = {}) => {
    const proc = ServerProcess.spawn(args, env);
    cleanups.push(() => proc.kill());
    return proc;
  };

  it.each([
    [['--workers', '2'], {}, '--workers=2'],
    [[], { CHAT_WORKERS: '3' }, 'CHAT_WORKERS=3'],
  ])('%j %j without CHAT_NATS_URL is refused, naming both settings, before any worker starts', async (args, env, named) => {
    const proc = spawn(args, env);
    expect((await proc.waitExit()).code).toBe(2);
    expect(proc.stderr[0]).toBe(`chat-grpc: ${named} needs CHAT_NATS_URL (nats://host:port, comma-separated), so the workers share rooms through NATS; without it, run one worker (CHAT_WORKERS=1)`);
    expect(proc.stdout.filter(Boolean)).toEqual([]);
  });

  it('refuses 0 workers, naming what is allowed', async () => {
    const proc = spawn(['--workers', '0']);
    expect((await proc.waitExit()).code).toBe(2);
    expect(proc.stderr[0]).toBe('chat-grpc: --workers="0" is not allowed: expected a whole number from 1 to 64, or auto');
  });

  /** The workers share rooms through a real nats-server (JetStream): members on different workers see one room. */
  it('two workers share one port and one room: streams on fresh connections land on both, chat together, and SIGTERM drains both', async () => {
    const natsPort = await freePort();
    const store = mkdtempSync(join(tmpdir(), 'chat-nats-'));
    cleanups.push(() => rmSync(store, { recursive: true, force: true }));
    const nats = ServerProcess.run(['/usr/sbin/nats-server', '-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', store]);
    cleanups.push(() => nats.kill());
    await waitFor(() => nats.stderr.some((l) => l.includes('Server is ready')) || (nats.exit && 'exited'), { timeoutMs: 10000, what: 'nats-server' }).then((ready) => {
      if (ready === 'exited') throw new Error(`nats-server exited: ${nats.stderr.join('\n')}`);
    });

    const proc = spawn(['--workers', '2', '--host', '127.0.0.1', '--port', '0'], { CHAT_NATS_URL: `nats://127.0.0.1:${natsPort}`, CHAT_DRAIN_GRACE_MS: '2000' });
    const port = await proc.port(30000);
    const address = `127.0.0.1:${port}`;
    // One `listening` line, the primary's; each worker logs its own under another name.
    expect(proc.logs().filter((l) => l.event === 'listening')).toEqual([expect.objectContaining({ port, workers: 2 })]);
    // A worker's own line may come just after the primary's, which the cluster's message prompts.
    const listened = await waitFor(() => proc.logs().filter((l) => l.event === 'worker_listening').length === 2 && proc.logs().filter((l) => l.event === 'worker_listening'), { what: 'both workers to log worker_listening' });
    expect(listened.map((l) => [l.worker, l.port]).sort()).toEqual([[1, port], [2, port]]);

    // The cluster hands connections to the workers in turn. grpc-js shares one connection
    // between channels with the same target and options (its global subchannel pool), so
    // each client asks for a slightly different keepalive to get a connection of its own.
    const logs: EventLog[] = [];
    for (let i = 0; i < 6 && new Set(proc.logs().filter((l) => l.event === 'stream_start').map((l) => l.worker)).size < 2; i++) {
      const client = new ChatClient(address, { keepaliveTimeMs: 30_000 + i });
      cleanups.push(() => client.close());
      const log = new EventLog(client.openSession({ userId: `user${i}` }));
      log.session.join('general');
      await log.joined('general');
      logs.push(log);
    }
    const starts = await waitFor(() => proc.logs().filter((l) => l.event === 'stream_start'), { what: 'stream_start lines' });
    expect(new Set(starts.map((l) => l.worker))).toEqual(new Set([1, 2]));
    expect(new Set(starts.map((l) => l.peer)).size).toBe(starts.length);
    // Worker lines carry the worker's own pid, not the primary's.
    expect(new Set(starts.map((l) => l.pid)).size).toBe(2);
    expect(starts.map((l) => l.pid)).not.toContain(proc.child.pid);

    // One room across both workers: every member gets every member's message, in one order.
    for (const [i, log] of logs.entries()) log.session.send('general', `hello from ${i}`);
    for (const log of logs) await waitFor(() => log.of('message', 'general').length === logs.length || undefined, { what: 'every member’s message', timeoutMs: 15_000 });
    const order = logs[0]!.of('message', 'general').map((e) => e.message.content);
    for (const log of logs) expect(log.of('message', 'general').map((e) => e.message.content)).toEqual(order);

    proc.child.kill('SIGTERM');
    for (const log of logs) {
      await log.waitFor((e) => e.type === 'notice' && e.notice.code === 'SERVER_SHUTDOWN', 'SERVER_SHUTDOWN');
      expect((await log.waitEnd()).code).toBe(grpc.status.UNAVAILABLE);
    }
    expect((await proc.waitExit(10000)).code).toBe(0);
    expect(proc.logs().filter((l) => l.event === 'drain_end').map((l) => l.worker).sort()).toEqual([1, 2]);
    expect(proc.logs().filter((l) => l.event === 'worker_exit').map((l) => [l.worker, l.code]).sort()).toEqual([[1, 0], [2, 0]]);
  });
});
