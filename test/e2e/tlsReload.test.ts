import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { ChatClient } from '../../src/client/ChatClient.js';
import { EventLog } from '../helpers/EventLog.js';
import { NatsServer } from '../helpers/NatsServer.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { serialOf, TestCertificates } from '../helpers/TestCertificates.js';
import { waitFor } from '../helpers/waitFor.js';

const certs = new TestCertificates();
const ca = certs.ca();
const first = certs.server(ca, 'first');
const second = certs.server(ca, 'second');
const alice = certs.client(ca, '/CN=alice');
/** The files the server is started with; a test replaces what is in them. */
const live = { certFile: join(certs.dir, 'server.crt'), keyFile: join(certs.dir, 'server.key') };
afterAll(() => certs.remove());

/** The serial number of the certificate a new TLS connection to the server gets, read with node:tls. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(ca.certFile), servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      resolve(serialOf(socket.getPeerCertificate().serialNumber));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('TLS certificates reloaded on SIGHUP (a real server process)', () => {
  let proc: ServerProcess | undefined;
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await proc?.kill();
    proc = undefined;
  });

  it('keeps open streams, serves the new certificate to new connections, and keeps the old one when the new files are unusable', async () => {
    copyFileSync(first.certFile, live.certFile);
    copyFileSync(first.keyFile, live.keyFile);
    proc = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], {
      CHAT_TLS_CERT_FILE: live.certFile,
      CHAT_TLS_KEY_FILE: live.keyFile,
      CHAT_TLS_CLIENT_CA_FILE: ca.certFile,
    });
    const port = await proc.port();
    expect(proc.logs().find((l) => l.event === 'listening')?.tls).toBe('mtls_optional');
    expect(await servedSerial(port)).toBe(certs.serial(first));
    const client = (tls = certs.tls(ca, alice)) => {
      const c = new ChatClient(`127.0.0.1:${port}`, { tls });
      clients.push(c);
      return c;
    };
    const before = new EventLog(client().openSession({ userId: 'alice' }));
    before.session.join('lobby');
    await before.joined('lobby');

    copyFileSync(second.certFile, live.certFile);
    copyFileSync(second.keyFile, live.keyFile);
    proc.child.kill('SIGHUP');
    await waitFor(() => proc!.logs().some((l) => l.event === 'tls_reloaded'), { what: 'the tls_reloaded log line' });
    expect(await servedSerial(port)).toBe(certs.serial(second));

    // The stream opened before the reload goes on, and meets one opened after it.
    const after = new EventLog(client(certs.tls(ca)).openSession({ userId: 'bob' }));
    after.session.join('lobby');
    await after.joined('lobby');
    before.session.send('lobby', 'still here');
    await after.waitFor((e) => e.type === 'message' && e.message.content === 'still here' && e.message.userId === 'alice', 'the message from before the reload');
    expect(before.end).toBeUndefined();

    // A half-written certificate is not taken: the server logs why and keeps serving the last good one.
    writeFileSync(live.certFile, '-----BEGIN CERTIFICATE-----\ntruncated');
    proc.child.kill('SIGHUP');
    const failed = await waitFor(() => proc!.logs().find((l) => l.event === 'tls_reload_failed'), { what: 'the tls_reload_failed log line' });
    expect(failed.error).toMatch(/CHAT_TLS_CERT_FILE=".*server.crt".* are not a PEM certificate and its private key/);
    expect(await servedSerial(port)).toBe(certs.serial(second));
    before.session.send('lobby', 'and still');
    await after.waitFor((e) => e.type === 'message' && e.message.content === 'and still', 'a message after the failed reload');
    expect(proc.exit).toBeUndefined();
  });

  it('with --workers 2, the primary passes SIGHUP on and every worker reloads', async () => {
    const nats = await NatsServer.start();
    try {
      copyFileSync(first.certFile, live.certFile);
      copyFileSync(first.keyFile, live.keyFile);
      proc = ServerProcess.spawn(['--workers', '2', '--host', '127.0.0.1', '--port', '0'], {
        CHAT_NATS_URL: nats.url,
        CHAT_TLS_CERT_FILE: live.certFile,
        CHAT_TLS_KEY_FILE: live.keyFile,
        CHAT_DRAIN_GRACE_MS: '1000',
      });
      const port = await proc.port(30_000);
      expect(await servedSerial(port)).toBe(certs.serial(first));
      copyFileSync(second.certFile, live.certFile);
      copyFileSync(second.keyFile, live.keyFile);
      proc.child.kill('SIGHUP');
      const reloaded = () => proc!.logs().filter((l) => l.event === 'tls_reloaded').map((l) => l.worker);
      await waitFor(() => reloaded().length === 2, { timeoutMs: 10_000, what: 'both workers to log tls_reloaded' });
      expect(reloaded().sort()).toEqual([1, 2]);
      // node:cluster hands connections to the workers in turn: a few fresh ones reach both.
      for (let i = 0; i < 4; i++) expect(await servedSerial(port)).toBe(certs.serial(second));
      proc.child.kill('SIGTERM');
      expect((await proc.waitExit(20_000)).code).toBe(0);
    } finally {
      await proc?.kill();
      await nats.stop();
    }
  });

  it('stops start-up naming a TLS file that cannot be read', async () => {
    proc = ServerProcess.spawn([], { CHAT_TLS_CERT_FILE: join(certs.dir, 'nowhere.crt'), CHAT_TLS_KEY_FILE: first.keyFile });
    expect((await proc.waitExit()).code).toBe(2);
    expect(proc.stderr.join('\n')).toMatch(/CHAT_TLS_CERT_FILE=".*nowhere.crt" cannot be read: ENOENT/);
  });
});
