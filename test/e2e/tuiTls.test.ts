import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { LineClient } from '../helpers/LineClient.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { TestCertificates } from '../helpers/TestCertificates.js';
import { waitFor } from '../helpers/waitFor.js';

const certs = new TestCertificates();
const ca = certs.ca();
const server = certs.server(ca);
const alice = certs.client(ca, '/CN=alice');
const bob = certs.client(ca, '/CN=bob');
afterAll(() => certs.remove());

describe('chat-tui over mTLS (--ca, --cert, --key), against a server process', () => {
  let proc: ServerProcess;
  let address: string;
  const clients: LineClient[] = [];
  const client = (args: string[]) => {
    const c = LineClient.spawn(['--plain', '--server', address, '--ca', ca.certFile, '--room', 'lobby', ...args]);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    proc = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], {
      CHAT_DRAIN_GRACE_MS: '500',
      CHAT_TLS_CERT_FILE: server.certFile,
      CHAT_TLS_KEY_FILE: server.keyFile,
      CHAT_TLS_CLIENT_CA_FILE: ca.certFile,
      CHAT_TLS_REQUIRE_CLIENT_CERT: '1',
    });
    address = `127.0.0.1:${await proc.port()}`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.kill()));
  });
  afterAll(async () => {
    await proc.kill();
  });

  it('two users with their certificates talk; each is the user its certificate names', async () => {
    // The names would make the user ids "al" and "bobby": the certificates' CNs win.
    const a = client(['--name', 'Al', '--cert', alice.certFile, '--key', alice.keyFile]);
    await a.waitForLine(/#lobby \* Welcome to #lobby, Al!$/);
    const b = client(['--name', 'Bobby', '--cert', bob.certFile, '--key', bob.keyFile]);
    await b.waitForLine(/#lobby \* Welcome to #lobby, Bobby!$/);
    a.say('hello over mTLS');
    await b.waitForLine(/#lobby <Al> hello over mTLS$/);
    a.end();
    await a.waitExit();
    const ended = await waitFor(() => proc.logs().find((l) => l.event === 'stream_end' && l.reason === 'half_close'), { what: "Al's stream_end" });
    expect(ended.user).toBe('alice');
  });

  it('a --user other than the certificate’s is refused for good, and chat-tui says why', async () => {
    const c = client(['--name', 'Bob', '--user', 'bob', '--cert', alice.certFile, '--key', alice.keyFile]);
    await c.waitForLine(/PERMISSION_DENIED: this connection's client certificate is for user "alice", not "bob"/);
    expect((await c.waitExit()).code).toBe(1);
  });

  it('without a client certificate it keeps retrying and says the server wants one', async () => {
    const c = client(['--name', 'Carol']);
    await c.waitForLine(/wants a client certificate it trusts/);
  });
});
