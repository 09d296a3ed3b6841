import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { ConfigError } from './config.js';

/** Where the keys that verify tokens come from: exactly one of the CHAT_AUTH_* key sources. */
export type AuthKeySource =
  | { kind: 'secret'; secret: Uint8Array }
  | { kind: 'publicKey'; key: KeyObject; algorithms: string[] }
  | { kind: 'jwksFile'; jwks: JSONWebKeySet }
  | { kind: 'jwksUrl'; url: URL };

/** Token auth (on when a key source is set): what a token must be to open a call. */
export interface AuthConfig {
  key: AuthKeySource;
  /** The variable the key came from, for logs. */
  keyFrom: string;
  /** Required `iss`, if set. */
  issuer: string | undefined;
  /** One of these must be in `aud`, if set. */
  audience: string[] | undefined;
  /** The claim that holds the display name. */
  nameClaim: string;
  clockToleranceS: number;
  expiryNoticeS: number;
  jwksCacheMs: number;
  jwksTimeoutMs: number;
}

const SOURCES = ['CHAT_AUTH_HS256_SECRET', 'CHAT_AUTH_HS256_SECRET_FILE', 'CHAT_AUTH_PUBLIC_KEY_FILE', 'CHAT_AUTH_JWKS'] as const;
const OPTIONS = ['CHAT_AUTH_ISSUER', 'CHAT_AUTH_AUDIENCE', 'CHAT_AUTH_NAME_CLAIM'] as const;
/** Every string CHAT_AUTH_* variable authConfig reads (usage() lists each). */
export const AUTH_VARIABLES: readonly string[] = [...SOURCES, ...OPTIONS];
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash. */
const MIN_SECRET_BYTES = 32;

/** The numeric CHAT_AUTH_* settings (rows of settings.ts). */
export interface AuthNumbers {
  authClockToleranceS: number;
  authExpiryNoticeS: number;
  authJwksCacheMs: number;
  authJwksTimeoutMs: number;
}

/** CHAT_AUTH_*: undefined (auth off) when no key source is set; refuses conflicting or incomplete settings. */
export function authConfig(env: NodeJS.ProcessEnv, numbers: AuthNumbers): AuthConfig | undefined {
  const value = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const set = SOURCES.filter((name) => value(name) !== undefined);
  if (set.length > 1) throw new ConfigError(`${set.join(' and ')} are both set: give exactly one key source for token auth`);
  if (set.length === 0) {
    const orphan = OPTIONS.find((name) => value(name) !== undefined);
    if (orphan) throw new ConfigError(`${orphan}="${env[orphan]}" is set but no key source is (${SOURCES.join(', ')}): auth would be off; set one, or unset ${orphan}`);
    return undefined;
  }
  const keyFrom = set[0]!;
  const raw = value(keyFrom)!;
  const key = keySource(keyFrom, raw);
  const audience = value('CHAT_AUTH_AUDIENCE')?.split(',').map((a) => a.trim());
  if (audience?.some((a) => a === '')) throw new ConfigError(`CHAT_AUTH_AUDIENCE="${env.CHAT_AUTH_AUDIENCE}" has an empty entry: expected audiences separated by commas`);
  // A JWKS is usually an identity provider's, whose keys sign tokens for many services:
  // without an audience, a token meant for any of them would open this server.
  if (keyFrom === 'CHAT_AUTH_JWKS' && audience === undefined) {
    throw new ConfigError(`CHAT_AUTH_JWKS="${raw}" needs CHAT_AUTH_AUDIENCE (this server's audience), or tokens issued for other services would be accepted`);
  }
  const nameClaim = value('CHAT_AUTH_NAME_CLAIM') ?? 'name';
  if (!/^[\w.:-]+$/.test(nameClaim)) throw new ConfigError(`CHAT_AUTH_NAME_CLAIM="${nameClaim}" is not a claim name (letters, digits, _ . : -)`);
  return {
    key,
    keyFrom,
    issuer: value('CHAT_AUTH_ISSUER'),
    audience,
    nameClaim,
    clockToleranceS: numbers.authClockToleranceS,
    expiryNoticeS: numbers.authExpiryNoticeS,
    jwksCacheMs: numbers.authJwksCacheMs,
    jwksTimeoutMs: numbers.authJwksTimeoutMs,
  };
}

function keySource(name: (typeof SOURCES)[number], raw: string): AuthKeySource {
  switch (name) {
    case 'CHAT_AUTH_HS256_SECRET':
      return { kind: 'secret', secret: secretBytes(name, Buffer.from(raw, 'utf8'), 'the value') };
    case 'CHAT_AUTH_HS256_SECRET_FILE':
      // A trailing newline is what editors and `echo` add, not part of the secret.
      return { kind: 'secret', secret: secretBytes(name, Buffer.from(readText(name, raw).replace(/\r?\n$/, ''), 'utf8'), `"${raw}"`) };
    case 'CHAT_AUTH_PUBLIC_KEY_FILE':
      return publicKey(name, raw);
    case 'CHAT_AUTH_JWKS':
      return jwks(name, raw);
  }
}

function secretBytes(name: string, secret: Uint8Array, what: string): Uint8Array {
  if (secret.byteLength < MIN_SECRET_BYTES) {
    throw new ConfigError(`${name}: ${what} is ${secret.byteLength} bytes; an HS256 secret must be at least ${MIN_SECRET_BYTES} bytes (for example: openssl rand -base64 48)`);
  }
  return secret;
}

function readText(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name}="${file}" cannot be read: ${(error as Error).message}`);
  }
}

/** A PEM public key or certificate; the algorithms follow from its type (jose checks the pairing too). */
function publicKey(name: string, file: string): AuthKeySource {
  const pem = readText(name, file);
  if (pem.includes('PRIVATE KEY')) throw new ConfigError(`${name}="${file}" holds a private key: give the server only the public key (openssl pkey -pubout)`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new ConfigError(`${name}="${file}" is not a PEM public key or certificate: ${(error as Error).message}`);
  }
  const algorithms = algorithmsFor(key);
  if (algorithms === undefined) {
    throw new ConfigError(`${name}="${file}" is a ${key.asymmetricKeyType} key (${key.asymmetricKeyDetails?.namedCurve ?? 'no curve'}); expected RSA, EC P-256/P-384/P-521 or Ed25519`);
  }
  return { kind: 'publicKey', key, algorithms };
}

function algorithmsFor(key: KeyObject): string[] | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    case 'ec':
      return { prime256v1: ['ES256'], secp384r1: ['ES384'], secp521r1: ['ES512'] }[key.asymmetricKeyDetails?.namedCurve ?? ''];
    default:
      return undefined;
  }
}

function jwks(name: string, raw: string): AuthKeySource {
  if (/^https?:\/\//i.test(raw)) {
    try {
      return { kind: 'jwksUrl', url: new URL(raw) };
    } catch {
      throw new ConfigError(`${name}="${raw}" is not a URL (expected https://host/path/jwks.json, or a file path)`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(name, raw));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${name}="${raw}" is not JSON: ${(error as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string')) {
    throw new ConfigError(`${name}="${raw}" is not a JWK set: expected {"keys": [{"kty": ...}, ...]} with at least one key`);
  }
  return { kind: 'jwksFile', jwks: parsed as JSONWebKeySet };
}
