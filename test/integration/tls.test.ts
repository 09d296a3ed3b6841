import { afterAll, describe, expect, it } from '@jest/globals';
import { credentials } from '@grpc/grpc-js';
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { ChatServiceDefinition, ClientEnvelope } from '../../gen/chat/v1/chat.js';
import { ChatConnection } from '../../src/client/ChatConnection.js';
import type { ConnectionState } from '../../src/client/ConnectionEvent.js';
import { loadConfig, type ServerConfig } from '../../src/server/config.js';
import { TestCertificates } from '../helpers/TestCertificates.js';
import { AUDIENCE, ISSUER, SECRET, Tokens } from '../helpers/Tokens.js';
import { serverPerTest } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// Made once for the file by the real openssl; removed after.
const certs = new TestCertificates();
const ca = certs.ca();
const serverCert = certs.server(ca);
const alice = certs.client(ca, '/CN=alice');
const bob = certs.client(ca, '/CN=bob');
const nameless = certs.client(ca, '/O=chat');
const otherCa = certs.ca('Other CA');
afterAll(() => certs.remove());
const start = serverPerTest();

const mtls = (requireClientCert: boolean) => ({ tls: { ...serverCert, clientCaFile: ca.certFile, requireClientCert } });

/** The error a call ended with. */
async function failure(call: Promise<unknown>): Promise<ClientError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ClientError)) throw new Error(`expected a ClientError, got ${String(error)}`);
  return error;
}

/** A ChatConnection's reason for reconnecting, after its first failed attempt. */
async function reconnectReason(connection: ChatConnection): Promise<string> {
  connection.start();
  try {
    const state = await waitFor(() => (connection.state.kind === 'reconnecting' ? connection.state : undefined), { timeoutMs: 5000, what: 'a failed attempt' });
    return (state as Extract<ConnectionState, { kind: 'reconnecting' }>).reason;
  } finally {
    await connection.close(0);
  }
}

describe('TLS', () => {
  it('carries a chat between two clients that trust the server’s CA', async () => {
    const t = await start({ tls: serverCert });
    const tls = certs.tls(ca);
    const a = await t.joined({ userId: 'alice' }, 'lobby', t.client({ tls }));
    const b = await t.joined({ userId: 'bob' }, 'lobby', t.client({ tls }));
    a.session.send('lobby', 'over TLS');
    await b.waitFor((e) => e.type === 'message' && e.message.content === 'over TLS' && e.message.userId === 'alice', 'the message');
  });

  it('refuses a plaintext client, which is told the server may serve TLS', async () => {
    const t = await start({ tls: serverCert });
    const error = await failure(t.client().listRooms());
    expect(error.code).toBe(Status.UNAVAILABLE);
    const reason = await reconnectReason(new ChatConnection({ address: t.address, identity: { userId: 'alice' }, backoff: { initialMs: 10_000 } }));
    expect(reason).toMatch(/^UNAVAILABLE: .*it may serve TLS/);
  });

  it('refuses a client whose CA did not sign the server’s certificate, saying so', async () => {
    const t = await start({ tls: serverCert });
    const error = await failure(t.client({ tls: certs.tls(otherCa) }).listRooms());
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.details).toMatch(/unable to verify the first certificate/);
    const connection = new ChatConnection({ address: t.address, identity: { userId: 'alice' }, backoff: { initialMs: 10_000 }, client: { tls: certs.tls(otherCa) } });
    expect(await reconnectReason(connection)).toMatch(/certificate is not trusted/);
  });

  it('tells a TLS client of a plaintext server that it does not speak TLS', async () => {
    const t = await start();
    const connection = new ChatConnection({ address: t.address, identity: { userId: 'alice' }, backoff: { initialMs: 10_000 }, client: { tls: certs.tls(ca) } });
    expect(await reconnectReason(connection)).toMatch(/does not speak TLS/);
  });
});

describe('mTLS', () => {
  it('refuses a client without a certificate when one is required', async () => {
    const t = await start(mtls(true));
    const error = await failure(t.client({ tls: certs.tls(ca) }).listRooms());
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.details).toMatch(/certificate required/);
    const connection = new ChatConnection({ address: t.address, identity: { userId: 'alice' }, backoff: { initialMs: 10_000 }, client: { tls: certs.tls(ca) } });
    expect(await reconnectReason(connection)).toMatch(/wants a client certificate/);
  });

  it('refuses a certificate from another CA when one is required', async () => {
    const t = await start(mtls(true));
    const stranger = certs.client(otherCa, '/CN=alice');
    const error = await failure(t.client({ tls: certs.tls(ca, stranger) }).listRooms());
    expect(error.code).toBe(Status.UNAVAILABLE);
  });

  it('binds the stream to the certificate’s CN: joining as another user is PERMISSION_DENIED', async () => {
    const t = await start(mtls(true));
    const asAlice = await t.joined({ userId: 'alice' }, 'lobby', t.client({ tls: certs.tls(ca, alice) }));
    const impostor = t.open({ userId: 'bob' }, t.client({ tls: certs.tls(ca, alice) }));
    impostor.session.join('lobby');
    const end = await impostor.waitEnd();
    expect(end.code).toBe(Status.PERMISSION_DENIED);
    expect(end.details).toBe('this connection\'s client certificate is for user "alice", not "bob"');
    // Bob's own certificate lets him in, and alice sees him.
    await t.joined({ userId: 'bob' }, 'lobby', t.client({ tls: certs.tls(ca, bob) }));
    await asAlice.waitFor((e) => e.type === 'user_joined' && e.notice.userId === 'bob', 'bob joining');
  });

  it('with mTLS and token auth both on, a certificate and a token for different users are refused (PERMISSION_DENIED); the same user gets in', async () => {
    const tokens = await Tokens.create();
    try {
      const auth = (loadConfig({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_ISSUER: ISSUER, CHAT_AUTH_AUDIENCE: AUDIENCE }, []) as ServerConfig).auth;
      const t = await start({ ...mtls(true), auth });
      const mixed = t.open({ userId: 'alice' }, t.client({ tls: certs.tls(ca, alice), token: await tokens.hs256({ sub: 'bob' }) }));
      mixed.session.join('lobby');
      const end = await mixed.waitEnd();
      expect(end.code).toBe(Status.PERMISSION_DENIED);
      expect(end.details).toBe('this connection\'s client certificate is for user "alice", but its token is for "bob"');
      await t.joined({ userId: 'alice' }, 'lobby', t.client({ tls: certs.tls(ca, alice), token: await tokens.hs256({ sub: 'alice' }) }));
    } finally {
      tokens.dispose();
    }
  });

  it('joins as the certificate’s user when the join names no one', async () => {
    const t = await start(mtls(true));
    const watcher = await t.joined({ userId: 'bob' }, 'lobby', t.client({ tls: certs.tls(ca, bob) }));
    await t.joined({ userId: '' }, 'lobby', t.client({ tls: certs.tls(ca, alice) }));
    await watcher.waitFor((e) => e.type === 'user_joined' && e.notice.userId === 'alice', 'alice joining');
  });

  it('refuses a verified certificate without a subject CN (UNAUTHENTICATED)', async () => {
    const t = await start(mtls(true));
    const log = t.open({ userId: 'alice' }, t.client({ tls: certs.tls(ca, nameless) }));
    log.session.join('lobby');
    const end = await log.waitEnd();
    expect(end.code).toBe(Status.UNAUTHENTICATED);
    expect(end.details).toMatch(/no \(single\) subject CN/);
  });

  it('lets a client without a certificate in, unbound, when certificates are optional; one with a certificate is bound', async () => {
    const t = await start(mtls(false));
    await t.joined({ userId: 'carol' }, 'lobby', t.client({ tls: certs.tls(ca) }));
    const impostor = t.open({ userId: 'carol' }, t.client({ tls: certs.tls(ca, alice) }));
    impostor.session.join('lobby');
    expect((await impostor.waitEnd()).code).toBe(Status.PERMISSION_DENIED);
  });

  it.each([
    ['a plaintext server', false, 'mallory', 'joined'],
    ['a certificate for alice', true, 'bob', 'PERMISSION_DENIED'],
  ])('ignores the identity a client puts in its own metadata (%s)', async (_, withCert, joinAs, outcome) => {
    const t = await start(withCert ? mtls(true) : {});
    const tls = certs.tls(ca, alice);
    const channel = createChannel(t.address, withCert ? credentials.createSsl(tls.ca!, tls.key!, tls.cert!) : undefined);
    let halfClose = () => {};
    const closed = new Promise<void>((resolve) => (halfClose = resolve));
    const requests = (async function* () {
      yield ClientEnvelope.fromPartial({ message: { $case: 'join', value: { userId: joinAs, room: 'lobby' } } });
      await closed;
    })();
    try {
      const events = createClient(ChatServiceDefinition, channel).channel(requests, { metadata: Metadata({ 'chat-tls-user': joinAs === 'bob' ? 'bob' : 'alice' }) });
      let seen = '';
      try {
        for await (const event of events) {
          if (event.event?.$case !== 'joined') continue;
          seen = 'joined';
          halfClose();
        }
      } catch (error) {
        seen = Status[(error as ClientError).code];
      }
      expect(seen).toBe(outcome);
    } finally {
      halfClose();
      channel.close();
    }
  });
});
