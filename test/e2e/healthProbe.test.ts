import { execFile } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { TestServer } from '../helpers/testServer.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** bin/grpc-health-probe.js, the image's HEALTHCHECK, as a process (not a sync one: the servers share this event loop). */
function probe(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/grpc-health-probe.js', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, out: stdout + stderr });
    });
  });
}

describe('grpc-health-probe', () => {
  let chat: TestServer;
  let notServing: { server: Server; address: string };
  let gone: string;
  /** A TCP server that accepts connections and never says a word. */
  let silent: { server: net.Server; address: string };

  beforeAll(async () => {
    chat = await TestServer.start();
    // A server answering NOT_SERVING, as ours does while it drains (a drain is over
    // too soon to probe reliably): the health service ours uses, set that way.
    const health = HealthState();
    health.setStatus('unhealthy');
    const server = createServer();
    server.add(HealthDefinition, HealthServiceImpl(health));
    notServing = { server, address: `127.0.0.1:${await server.listen('127.0.0.1:0')}` };
    const stopped = await TestServer.start();
    await stopped.stop();
    gone = stopped.address;
    const quiet = net.createServer(() => {});
    await new Promise<void>((resolve) => quiet.listen(0, '127.0.0.1', resolve));
    silent = { server: quiet, address: `127.0.0.1:${(quiet.address() as net.AddressInfo).port}` };
  });
  afterAll(async () => {
    await notServing.server.shutdown();
    silent.server.close();
    await chat.stop();
  });

  it('exits 0 for a serving server, asked about the whole server or the chat service', async () => {
    expect(await probe(['--addr', chat.address])).toEqual({ code: 0, out: `${chat.address}: SERVING\n` });
    expect((await probe(['--addr', chat.address, '--service', 'chat.v1.ChatService'])).code).toBe(0);
  });

  it('finds the server on 127.0.0.1:$CHAT_GRPC_PORT by default, as the container runs it', async () => {
    expect(await probe([], { CHAT_GRPC_PORT: String(chat.server.port) })).toEqual({ code: 0, out: `${chat.address}: SERVING\n` });
  });

  it('exits 1, saying why, for NOT_SERVING, a service the server does not know, nothing listening, or no answer in time', async () => {
    expect(await probe(['--addr', notServing.address])).toEqual({ code: 1, out: `${notServing.address}: not serving (status 2)\n` });
    expect(await probe(['--addr', chat.address, '--service', 'no.such.Service'])).toMatchObject({ code: 1, out: expect.stringContaining('health check failed: Unknown service') });
    expect(await probe(['--addr', gone])).toMatchObject({ code: 1, out: expect.stringContaining(`${gone}: unreachable`) });
    // Accepts the connection and never answers: only the timeout ends the wait.
    const started = Date.now();
    expect(await probe(['--addr', silent.address, '--timeout', '300'])).toEqual({ code: 1, out: `${silent.address}: no answer within 300 ms\n` });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exits 64 with the usage for arguments it cannot use, and 0 for --help', async () => {
    for (const args of [['--timeout', '0'], ['--timeout', 'soon'], ['--bogus'], ['--addr='], ['--addr', 'no-port']]) {
      const run = await probe(args);
      expect({ args, code: run.code, usage: run.out.includes('Usage: grpc-health-probe') }).toEqual({ args, code: 64, usage: true });
    }
    expect(await probe(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('Exit codes: 0 serving') });
  });
});
