import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ClientError, Status } from 'nice-grpc';
import type { ChatClientOptions } from '../../src/client/ChatClient.js';
import type { TokenSource } from '../../src/client/TokenSource.js';
import { loadConfig, type ServerConfig } from '../../src/server/config.js';
import type { EventLog } from '../helpers/EventLog.js';
import { serverPerTest, type TestServer } from '../helpers/testServer.js';
import { AUDIENCE, ISSUER, SECRET, Tokens } from '../helpers/Tokens.js';
import { loggedConnection, quick } from '../helpers/loggedConnection.js';
import { waitFor } from '../helpers/waitFor.js';

/** The auth part of a configuration made from these CHAT_AUTH_* variables, as `npm start` would read them. */
function auth(env: Record<string, string>): ServerConfig['auth'] {
  return (loadConfig({ CHAT_AUTH_ISSUER: ISSUER, CHAT_AUTH_AUDIENCE: AUDIENCE, CHAT_AUTH_EXPIRY_NOTICE_S: '1', ...env }, []) as ServerConfig).auth;
}

/** The status a call ended with. */
async function statusOf(call: Promise<unknown>): Promise<{ code: Status; details: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ClientError) return { code: error.code, details: error.details };
    throw error;
  }
  return { code: Status.OK, details: '' };
}

describe('token auth', () => {
  const start = serverPerTest();
  let tokens: Tokens;
  beforeAll(async () => (tokens = await Tokens.create()));
  afterAll(() => tokens.dispose());

  /** A stream opened with this token (or none) on its own connection. */
  function open(t: TestServer, token: TokenSource | undefined, userId = '', options: ChatClientOptions = {}): EventLog {
    return t.open({ userId }, t.client({ ...options, token }));
  }
  /** A stream opened with this token that has joined #general. */
  async function joined(t: TestServer, token: TokenSource | undefined, userId = ''): Promise<EventLog> {
    const log = open(t, token, userId);
    log.session.join('general');
    await log.joined('general');
    return log;
  }

  describe('with an HS256 secret', () => {
    const hs256 = () => start({ auth: auth({ CHAT_AUTH_HS256_SECRET: SECRET }) });

    it('a Channel without a token ends UNAUTHENTICATED (NO_TOKEN) before anything is joined', async () => {
      const t = await hs256();
      const log = open(t, undefined, 'alice');
      log.session.join('general');
      const end = await log.waitEnd();
      expect(end.code).toBe(Status.UNAUTHENTICATED);
      expect(end.details).toMatch(/^NO_TOKEN: /);
      expect(log.events).toEqual([]);
      expect(t.hub.listRooms()).toEqual([]);
    });

    it('ListRooms needs a token too', async () => {
      const t = await hs256();
      const none = await statusOf(t.client().listRooms());
      expect(none.code).toBe(Status.UNAUTHENTICATED);
      expect(none.details).toMatch(/^NO_TOKEN: /);
      const bad = await statusOf(t.client({ token: 'not-a-jwt' }).listRooms());
      expect(bad.details).toMatch(/^MALFORMED: /);
      await joined(t, await tokens.hs256({ sub: 'alice' }));
      expect(await t.client({ token: await tokens.hs256({ sub: 'bob' }) }).listRooms()).toEqual([expect.objectContaining({ room: 'general', memberCount: 1 })]);
    });

    it.each([
      ['a bad signature', () => tokens.hs256({ sub: 'alice' }, 'another-secret-of-at-least-32-bytes'), 'BAD_SIGNATURE'],
      ['a wrong issuer', () => tokens.hs256({ sub: 'alice', iss: 'https://elsewhere.test' }), 'WRONG_ISSUER'],
      ['a wrong audience', () => tokens.hs256({ sub: 'alice', aud: 'another-service' }), 'WRONG_AUDIENCE'],
      ['an expired token', () => tokens.hs256({ sub: 'alice', expIn: -5 }), 'TOKEN_EXPIRED'],
      ['a token not valid yet', () => tokens.hs256({ sub: 'alice', nbf: Math.floor(Date.now() / 1000) + 60 }), 'NOT_YET_VALID'],
      ['no sub', () => tokens.hs256({}), 'NO_SUBJECT'],
      ['no exp (it would never end)', () => tokens.hs256({ sub: 'alice', exp: undefined }), 'INVALID_CLAIMS'],
      ['an ES256 token (another algorithm)', () => tokens.es256({ sub: 'alice' }), 'ALGORITHM_NOT_ALLOWED'],
      ['something that is no JWT', async () => 'a.b.c', 'MALFORMED'],
    ])('%s ends the stream UNAUTHENTICATED with the reason', async (_what, make, reason) => {
      const t = await hs256();
      const log = open(t, await make());
      log.session.join('general');
      const end = await log.waitEnd();
      expect(end.code).toBe(Status.UNAUTHENTICATED);
      expect(end.details).toMatch(new RegExp(`^${reason}: `));
    });

    it('a valid token: the stream is its sub, named by its name claim, and chat works', async () => {
      const t = await hs256();
      const alice = await joined(t, await tokens.hs256({ sub: 'alice', name: 'Alice Liddell' }));
      // The join named nobody, and may also name the sub itself.
      const bob = await joined(t, await tokens.hs256({ sub: 'bob' }), 'bob');
      expect(alice.of('joined')[0]!.ack.userId).toBe('alice');
      expect(bob.of('joined')[0]!.ack.members).toEqual(expect.arrayContaining([{ userId: 'alice', displayName: 'Alice Liddell' }, { userId: 'bob', displayName: 'bob' }]));
      alice.session.send('general', 'hello');
      const seen = await bob.waitFor((e) => e.type === 'message', 'alice’s message');
      expect(seen.type === 'message' && [seen.message.userId, seen.message.displayName, seen.message.content]).toEqual(['alice', 'Alice Liddell', 'hello']);
    });

    it('a join as another user than the token’s sub ends the stream PERMISSION_DENIED', async () => {
      const t = await hs256();
      const log = open(t, await tokens.hs256({ sub: 'alice' }), 'mallory');
      log.session.join('general');
      const end = await log.waitEnd();
      expect(end.code).toBe(Status.PERMISSION_DENIED);
      expect(end.details).toContain('"alice", not "mallory"');
    });

    it('a sub that is no valid user id ends the first join INVALID_ARGUMENT, naming the token', async () => {
      const t = await hs256();
      const log = open(t, await tokens.hs256({ sub: 'auth0|123' }));
      log.session.join('general');
      const end = await log.waitEnd();
      expect(end.code).toBe(Status.INVALID_ARGUMENT);
      expect(end.details).toMatch(/^the token's sub: /);
    });

    it('exp ends the stream: TOKEN_EXPIRING first, then UNAUTHENTICATED at exp', async () => {
      const t = await hs256();
      const token = await tokens.hs256({ sub: 'alice', expIn: 3 });
      const exp = Number(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp) * 1000;
      const log = await joined(t, token);
      const notice = await log.waitFor((e) => e.type === 'notice' && e.notice.code === 'TOKEN_EXPIRING', 'TOKEN_EXPIRING', 5000);
      const noticedAt = Date.now();
      // CHAT_AUTH_EXPIRY_NOTICE_S=1: no earlier than a second before exp (the timer's slack aside).
      expect(noticedAt).toBeGreaterThanOrEqual(exp - 1000 - 50);
      expect(noticedAt).toBeLessThan(exp);
      expect(notice.type === 'notice' && notice.notice.message).toContain(new Date(exp).toISOString());
      const end = await log.waitEnd(5000);
      expect(Date.now()).toBeGreaterThanOrEqual(exp);
      expect(end.code).toBe(Status.UNAUTHENTICATED);
      expect(end.details).toMatch(/^TOKEN_EXPIRED: /);
      await waitFor(() => t.hub.sessionCount === 0, { what: 'the session freed' });
    });

    it('a token function refreshes in time and the stream outlives the first token’s exp', async () => {
      const t = await hs256();
      const first = await tokens.hs256({ sub: 'alice', expIn: 3 });
      const exp = Number(JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()).exp) * 1000;
      let issued = 0;
      // An identity provider's cache: the first token until 1.5 s before its exp, then a fresh one.
      const source = async () => {
        if (Date.now() < exp - 1500) return first;
        issued += 1;
        return tokens.hs256({ sub: 'alice', expIn: 60 });
      };
      const log = await joined(t, source);
      await waitFor(() => Date.now() > exp + 1000, { timeoutMs: 6000, what: 'the first token’s exp to pass' });
      expect(log.end).toBeUndefined();
      log.session.send('general', 'still here');
      await log.waitFor((e) => e.type === 'message' && e.message.content === 'still here', 'the own copy');
      expect(issued).toBeGreaterThan(0);
    });

    it('a ChatConnection whose token ran out unrefreshed reconnects with the function’s next token and resumes', async () => {
      const t = await hs256();
      const first = await tokens.hs256({ sub: 'alice', expIn: 2 });
      const exp = Number(JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()).exp) * 1000;
      // A source that rotates late: the old token until half a second past its exp.
      const source = async () => (Date.now() < exp + 500 ? first : tokens.hs256({ sub: 'alice', expIn: 60 }));
      const bob = await joined(t, await tokens.hs256({ sub: 'bob' }));
      const alice = loggedConnection({ address: t.address, identity: { userId: 'alice' }, backoff: quick, client: { token: source } });
      try {
        alice.connection.join('general');
        await alice.joined('general');
        await waitFor(() => alice.states().includes('reconnecting'), { timeoutMs: 5000, what: 'the stream to end at exp' });
        await waitFor(() => alice.states().at(-1) === 'connected' && Date.now() > exp + 500, { timeoutMs: 5000, what: 'a reconnect with the new token' });
        alice.connection.send('general', 'back');
        await bob.waitFor((e) => e.type === 'message' && e.message.content === 'back', 'alice’s message after the reconnect');
        expect(alice.stateLog().find((s) => s.kind === 'closed')).toBeUndefined();
      } finally {
        await alice.connection.close(500);
      }
    });

    it('a refresh for another sub ends the stream PERMISSION_DENIED, an invalid one UNAUTHENTICATED', async () => {
      const t = await hs256();
      const alice = await joined(t, await tokens.hs256({ sub: 'alice' }));
      alice.session.refresh(await tokens.hs256({ sub: 'mallory' }));
      const end = await alice.waitEnd();
      expect(end.code).toBe(Status.PERMISSION_DENIED);
      expect(end.details).toContain('"mallory"');
      const bob = await joined(t, await tokens.hs256({ sub: 'bob' }));
      bob.session.refresh(await tokens.hs256({ sub: 'bob', expIn: -5 }));
      const bobEnd = await bob.waitEnd();
      expect(bobEnd.code).toBe(Status.UNAUTHENTICATED);
      expect(bobEnd.details).toMatch(/^TOKEN_EXPIRED: /);
    });

    it('refreshes count against the stream’s rate: over it, a RATE_LIMITED notice and the token stays', async () => {
      const t = await start({ auth: auth({ CHAT_AUTH_HS256_SECRET: SECRET }), limits: { ratePerSecond: 1, rateBurst: 1 } });
      const alice = await joined(t, await tokens.hs256({ sub: 'alice' }));
      alice.session.refresh(await tokens.hs256({ sub: 'alice', expIn: 120 }));
      const notice = await alice.error('RATE_LIMITED');
      expect(notice.message).toContain('the refresh was not applied');
      expect(alice.end).toBeUndefined();
    });

    it('health stays open without a token', async () => {
      const t = await hs256();
      const { createChannel, createClient } = await import('nice-grpc');
      const { HealthDefinition } = await import('nice-grpc-server-health');
      const channel = createChannel(t.address);
      try {
        expect((await createClient(HealthDefinition, channel).check({ service: '' })).status).toBe(1);
      } finally {
        channel.close();
      }
    });
  });

  describe('with CHAT_AUTH_CLOCK_TOLERANCE_S=2', () => {
    it('refuses a token 2 s past exp, takes one less than 2 s past, and ends its stream 2 s after exp', async () => {
      const t = await start({ auth: auth({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_CLOCK_TOLERANCE_S: '2' }) });
      const late = open(t, await tokens.hs256({ sub: 'bob', exp: Math.floor(Date.now() / 1000) - 2 }));
      late.session.join('general');
      expect((await late.waitEnd()).details).toMatch(/^TOKEN_EXPIRED: /);
      // exp is this second: past by less than one when verified.
      const token = await tokens.hs256({ sub: 'alice', expIn: 0 });
      const exp = Number(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp) * 1000;
      const log = await joined(t, token);
      const end = await log.waitEnd(5000);
      expect(Date.now()).toBeGreaterThanOrEqual(exp + 2000);
      expect(end.details).toMatch(/^TOKEN_EXPIRED: /);
    });
  });

  describe('with CHAT_AUTH_NAME_CLAIM=preferred_username', () => {
    it('names the stream by that claim, and by the join’s display_name when the token has none', async () => {
      const t = await start({ auth: auth({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_NAME_CLAIM: 'preferred_username' }) });
      const alice = await joined(t, await tokens.hs256({ sub: 'alice', name: 'ignored', preferred_username: 'Al' }));
      const bob = t.open({ userId: '', displayName: 'Bobby' }, t.client({ token: await tokens.hs256({ sub: 'bob' }) }));
      bob.session.join('general');
      const ack = await bob.joined('general');
      expect(ack.members).toEqual(expect.arrayContaining([{ userId: 'alice', displayName: 'Al' }, { userId: 'bob', displayName: 'Bobby' }]));
      expect(alice.events.length).toBeGreaterThan(0);
    });
  });

  describe('with an ES256 public key file', () => {
    it('verifies ES256 tokens and refuses HS256 ones', async () => {
      const t = await start({ auth: auth({ CHAT_AUTH_PUBLIC_KEY_FILE: tokens.pemFile }) });
      const alice = await joined(t, await tokens.es256({ sub: 'alice' }));
      expect(alice.of('joined')[0]!.ack.userId).toBe('alice');
      const forged = open(t, await tokens.hs256({ sub: 'mallory' }));
      forged.session.join('general');
      expect((await forged.waitEnd()).details).toMatch(/^ALGORITHM_NOT_ALLOWED: /);
    });
  });

  describe('with a JWKS', () => {
    it('from a file: the key is picked by kid; an unknown kid is refused', async () => {
      const t = await start({ auth: auth({ CHAT_AUTH_JWKS: tokens.jwksFile }) });
      await joined(t, await tokens.es256({ sub: 'alice' }));
      const unknown = open(t, await tokens.es256({ sub: 'bob' }, 'k2'));
      unknown.session.join('general');
      const end = await unknown.waitEnd();
      expect(end.code).toBe(Status.UNAUTHENTICATED);
      expect(end.details).toMatch(/^UNKNOWN_KEY: /);
    });

    describe('from a URL', () => {
      let http: Server;
      let fetches = 0;
      let url = '';
      beforeAll(async () => {
        http = createServer((_request, response) => {
          fetches += 1;
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify(tokens.jwks));
        });
        await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
        url = `http://127.0.0.1:${(http.address() as { port: number }).port}/jwks.json`;
      });
      afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));
      afterEach(() => {
        fetches = 0;
      });

      it('fetches the keys once and verifies with them from the cache', async () => {
        const t = await start({ auth: auth({ CHAT_AUTH_JWKS: url }) });
        await joined(t, await tokens.es256({ sub: 'alice' }));
        await joined(t, await tokens.es256({ sub: 'bob' }));
        expect(await t.client({ token: await tokens.es256({ sub: 'carol' }) }).listRooms()).toHaveLength(1);
        expect(fetches).toBe(1);
      });

      it('keys that cannot be fetched end the call UNAVAILABLE (KEYS_UNAVAILABLE), which a client may retry', async () => {
        const t = await start({ auth: auth({ CHAT_AUTH_JWKS: 'http://127.0.0.1:1/jwks.json' }) });
        const result = await statusOf(t.client({ token: await tokens.es256({ sub: 'alice' }) }).listRooms());
        expect(result.code).toBe(Status.UNAVAILABLE);
        expect(result.details).toMatch(/^KEYS_UNAVAILABLE: /);
      });
    });
  });

  describe('with auth off (the default)', () => {
    it('clients without a token work as before, and a token or a refresh changes nothing', async () => {
      const t = await start();
      expect(t.config.auth).toBeUndefined();
      const plain = await joined(t, undefined, 'alice');
      const withToken = await joined(t, await tokens.hs256({ sub: 'someone-else' }), 'bob');
      withToken.session.refresh('anything');
      withToken.session.send('general', 'hi');
      await plain.waitFor((e) => e.type === 'message' && e.message.userId === 'bob', 'bob’s message');
      expect(await t.client().listRooms()).toHaveLength(1);
    });
  });
});
