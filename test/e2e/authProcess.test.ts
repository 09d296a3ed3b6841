import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { LineClient } from '../helpers/LineClient.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { AUDIENCE, ISSUER, SECRET, Tokens } from '../helpers/Tokens.js';

/** A server process with auth on, as an operator would start it. */
const authEnv = { CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_ISSUER: ISSUER, CHAT_AUTH_AUDIENCE: AUDIENCE, CHAT_DRAIN_GRACE_MS: '500' };

describe('token auth between real processes: `npm start` and chat-tui', () => {
  let tokens: Tokens;
  const processes: Array<ServerProcess | LineClient> = [];
  beforeAll(async () => (tokens = await Tokens.create()));
  afterAll(() => tokens.dispose());
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.kill()));
  });

  async function server(): Promise<string> {
    const s = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], authEnv);
    processes.push(s);
    const port = await s.port();
    expect(s.logs().find((l) => l.event === 'auth_on')).toMatchObject({ key: 'CHAT_AUTH_HS256_SECRET', issuer: ISSUER, audience: [AUDIENCE] });
    return `127.0.0.1:${port}`;
  }
  function client(args: string[], env: Record<string, string> = {}): LineClient {
    const c = LineClient.spawn(args, env);
    processes.push(c);
    return c;
  }

  it('chat-tui with CHAT_TOKEN is its sub, named by the token, without being asked', async () => {
    const address = await server();
    const alice = client(['--plain', '--server', address, '--room', 'lobby'], { CHAT_TOKEN: await tokens.hs256({ sub: 'alice', name: 'Alice' }) });
    await alice.waitForLine(/#lobby \* Welcome to #lobby, Alice!$/);
    alice.say('hello');
    await alice.waitForLine(/#lobby <Alice> hello$/);
    expect(alice.stderrText).not.toContain('Your name');
  });

  it('chat-tui without a token is told why and exits 1', async () => {
    const address = await server();
    const anonymous = client(['--plain', '--server', address, '--name', 'bob']);
    await anonymous.waitForLine(/UNAUTHENTICATED: NO_TOKEN: /);
    expect((await anonymous.waitExit()).code).toBe(1);
  });

  it('a server given two key sources refuses to start, naming both', async () => {
    const s = ServerProcess.spawn(['--port', '0'], { ...authEnv, CHAT_AUTH_PUBLIC_KEY_FILE: tokens.pemFile });
    processes.push(s);
    expect((await s.waitExit()).code).toBe(2);
    expect(s.stderr.join('\n')).toContain('CHAT_AUTH_HS256_SECRET and CHAT_AUTH_PUBLIC_KEY_FILE are both set');
  });
});
