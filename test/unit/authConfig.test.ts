import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { AUTH_VARIABLES } from '../../src/server/authConfig.js';
import { ConfigError, loadConfig, usage, type ServerConfig } from '../../src/server/config.js';

const dir = mkdtempSync(join(tmpdir(), 'chat-auth-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}
const SECRET = 'x'.repeat(32);
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPem = file('ec.pem', ec.publicKey.export({ type: 'spki', format: 'pem' }) as string);
const ecPrivate = file('ec-private.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const rsaPem = file('rsa.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
const dsaPem = file('dsa.pem', generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
const jwks = file('jwks.json', JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));

const auth = (env: Record<string, string>) => (loadConfig(env, []) as ServerConfig).auth;
function refused(env: Record<string, string>): string {
  try {
    loadConfig(env, []);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('CHAT_AUTH_* (token auth)', () => {
  it('is off when no key source is set (empty counts as unset)', () => {
    expect(auth({})).toBeUndefined();
    expect(auth({ CHAT_AUTH_HS256_SECRET: '', CHAT_AUTH_JWKS: '  ' })).toBeUndefined();
  });

  it('an HS256 secret turns it on, with issuer, audiences and name claim', () => {
    const config = auth({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_ISSUER: 'https://id.test', CHAT_AUTH_AUDIENCE: 'chat, admin', CHAT_AUTH_NAME_CLAIM: 'preferred_username' });
    expect(config).toMatchObject({ key: { kind: 'secret' }, keyFrom: 'CHAT_AUTH_HS256_SECRET', issuer: 'https://id.test', audience: ['chat', 'admin'], nameClaim: 'preferred_username', clockToleranceS: 0, expiryNoticeS: 30 });
    expect(auth({ CHAT_AUTH_HS256_SECRET: SECRET })?.nameClaim).toBe('name');
  });

  it('a secret is at least 32 bytes: 32 is taken, 31 refused with how to make one', () => {
    expect(auth({ CHAT_AUTH_HS256_SECRET: SECRET })).toBeDefined();
    expect(refused({ CHAT_AUTH_HS256_SECRET: 'x'.repeat(31) })).toMatch(/CHAT_AUTH_HS256_SECRET: the value is 31 bytes; .* at least 32 bytes .*openssl rand/);
  });

  it('a secret file loses its trailing newline, and must be readable', () => {
    expect(auth({ CHAT_AUTH_HS256_SECRET_FILE: file('secret', `${SECRET}\n`) })?.key).toEqual({ kind: 'secret', secret: Buffer.from(SECRET) });
    expect(refused({ CHAT_AUTH_HS256_SECRET_FILE: file('short', `${'x'.repeat(31)}\n`) })).toContain('is 31 bytes');
    expect(refused({ CHAT_AUTH_HS256_SECRET_FILE: join(dir, 'missing') })).toMatch(/CHAT_AUTH_HS256_SECRET_FILE=".*missing" cannot be read: ENOENT/);
  });

  it('a PEM public key gives the algorithms of its type', () => {
    expect(auth({ CHAT_AUTH_PUBLIC_KEY_FILE: ecPem })?.key).toMatchObject({ kind: 'publicKey', algorithms: ['ES256'] });
    expect(auth({ CHAT_AUTH_PUBLIC_KEY_FILE: rsaPem })?.key).toMatchObject({ kind: 'publicKey', algorithms: expect.arrayContaining(['RS256', 'PS256']) });
  });

  it('refuses a private key, something that is not PEM, and a key type JWTs do not use', () => {
    expect(refused({ CHAT_AUTH_PUBLIC_KEY_FILE: ecPrivate })).toMatch(/holds a private key: give the server only the public key/);
    expect(refused({ CHAT_AUTH_PUBLIC_KEY_FILE: file('junk.pem', 'hello') })).toMatch(/is not a PEM public key or certificate/);
    expect(refused({ CHAT_AUTH_PUBLIC_KEY_FILE: dsaPem })).toMatch(/is a dsa key .* expected RSA, EC/);
  });

  it('a JWKS is a file or an http(s) URL, and needs an audience', () => {
    expect(auth({ CHAT_AUTH_JWKS: jwks, CHAT_AUTH_AUDIENCE: 'chat' })?.key).toMatchObject({ kind: 'jwksFile' });
    expect(auth({ CHAT_AUTH_JWKS: 'https://id.test/.well-known/jwks.json', CHAT_AUTH_AUDIENCE: 'chat' })?.key).toMatchObject({ kind: 'jwksUrl' });
    expect(refused({ CHAT_AUTH_JWKS: jwks })).toMatch(/CHAT_AUTH_JWKS=".*" needs CHAT_AUTH_AUDIENCE/);
    expect(refused({ CHAT_AUTH_JWKS: file('bad.json', '{"keys": 1'), CHAT_AUTH_AUDIENCE: 'chat' })).toMatch(/is not JSON/);
    expect(refused({ CHAT_AUTH_JWKS: file('empty.json', '{"keys": []}'), CHAT_AUTH_AUDIENCE: 'chat' })).toMatch(/is not a JWK set/);
    expect(refused({ CHAT_AUTH_JWKS: 'https://[bad', CHAT_AUTH_AUDIENCE: 'chat' })).toMatch(/is not a URL/);
  });

  it('refuses two key sources at once', () => {
    expect(refused({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_PUBLIC_KEY_FILE: ecPem })).toBe(
      'CHAT_AUTH_HS256_SECRET and CHAT_AUTH_PUBLIC_KEY_FILE are both set: give exactly one key source for token auth',
    );
  });

  it('refuses issuer, audience or name claim without a key source (auth would silently be off)', () => {
    for (const name of ['CHAT_AUTH_ISSUER', 'CHAT_AUTH_AUDIENCE', 'CHAT_AUTH_NAME_CLAIM']) {
      expect(refused({ [name]: 'x' })).toMatch(new RegExp(`^${name}="x" is set but no key source is .*auth would be off`));
    }
  });

  it('refuses an empty audience entry and a name claim that is no claim name', () => {
    expect(refused({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_AUDIENCE: 'chat,,admin' })).toMatch(/has an empty entry/);
    expect(refused({ CHAT_AUTH_HS256_SECRET: SECRET, CHAT_AUTH_NAME_CLAIM: 'a b' })).toMatch(/is not a claim name/);
  });

  it('usage() lists every CHAT_AUTH_* variable', () => {
    for (const name of AUTH_VARIABLES) expect(usage()).toContain(`  ${name} `);
  });
});
