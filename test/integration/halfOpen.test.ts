import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import { ChatClient } from '../../src/client/ChatClient.js';
import { EventLog } from '../helpers/EventLog.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { killTree } from '../helpers/spawnProcess.js';
import { waitFor } from '../helpers/waitFor.js';

/** The settings' minimums (src/server/settings.ts): the quickest a dead peer can be found. */
const KEEPALIVE_TIME_MS = 1000;
const KEEPALIVE_TIMEOUT_MS = 1000;

const joinedBy = (userId: string) => (e: ChatEvent) => e.type === 'user_joined' && e.notice.userId === userId;
const leftBy = (userId: string) => (e: ChatEvent) => e.type === 'user_left' && e.notice.userId === userId;

describe('a half-open connection', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('a client process frozen with SIGSTOP leaves its rooms within keepalive time + timeout (the server’s unanswered HTTP/2 PING)', async () => {
    const server = ServerProcess.spawn([], {
      CHAT_GRPC_HOST: '127.0.0.1',
      CHAT_GRPC_PORT: '0',
      CHAT_KEEPALIVE_TIME_MS: String(KEEPALIVE_TIME_MS),
      CHAT_KEEPALIVE_TIMEOUT_MS: String(KEEPALIVE_TIMEOUT_MS),
    });
    cleanups.push(() => server.kill());
    const address = `127.0.0.1:${await server.port()}`;
    const client = new ChatClient(address);
    cleanups.push(() => client.close());
    const watcher = new EventLog(client.openSession({ userId: 'watcher' }));
    watcher.session.join('lobby');
    await watcher.joined('lobby');

    // A real client process (plain grpc-js, the original proto), which we then freeze:
    // its kernel still ACKs TCP, so only an unanswered HTTP/2 PING can tell.
    const member = spawn(process.execPath, ['test/fixtures/originalMember.mjs', address, 'frozen', 'lobby'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    member.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    cleanups.push(() => {
      member.kill('SIGCONT');
      killTree(member.pid!);
    });
    await waitFor(() => out.includes('"joined"'), { timeoutMs: 10_000, what: 'the member process to join' });
    await watcher.waitFor(joinedBy('frozen'), 'the member joining');

    member.kill('SIGSTOP');
    const frozenAt = performance.now();
    await watcher.waitFor(leftBy('frozen'), 'the frozen member to leave', KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + 5000);
    const leftAfterMs = Math.round(performance.now() - frozenAt);
    process.stderr.write(`half-open: frozen member left after ${leftAfterMs} ms (keepalive ${KEEPALIVE_TIME_MS} + ${KEEPALIVE_TIMEOUT_MS} ms)\n`);
    // Found by the ping's timeout: no sooner than the timeout, no later than a full period and the timeout (plus scheduling).
    expect(leftAfterMs).toBeGreaterThanOrEqual(KEEPALIVE_TIMEOUT_MS - 50);
    expect(leftAfterMs).toBeLessThanOrEqual(KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS + 500);
    // The server logged the stream's end; the watcher's stream goes on.
    const end = await waitFor(() => server.logs().find((l) => l.event === 'stream_end' && l.user === 'frozen'), { what: 'the frozen stream’s end in the log' });
    process.stderr.write(`half-open: the server ended the frozen stream as ${String(end.reason)}\n`);
    expect(watcher.end).toBeUndefined();
  });
});
