import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

/** The issuer and audience the test servers expect. */
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'chat-grpc';
/** An HS256 secret of the minimum length (32 bytes). */
export const SECRET = 'a-test-secret-of-32-bytes-length';

/** What a test token says; exp in seconds from now (negative: already expired). */
export interface TokenClaims extends JWTPayload {
  expIn?: number;
}

type SigningKey = Parameters<SignJWT['sign']>[0];

/**
 * Keys and tokens for auth tests, made with jose as an identity provider would:
 * an HS256 secret, and an ES256 key pair whose public half is written to a temp
 * PEM file and a JWKS file. `dispose()` removes the files.
 */
export class Tokens {
  private constructor(
    readonly dir: string,
    private readonly privateKey: SigningKey,
    /** The ES256 public key as PEM (SPKI) in a file. */
    readonly pemFile: string,
    /** {"keys": [the ES256 public JWK, kid "k1"]} in a file. */
    readonly jwksFile: string,
    /** The JWKS as served by a URL. */
    readonly jwks: { keys: object[] },
  ) {}

  static async create(): Promise<Tokens> {
    const dir = mkdtempSync(join(tmpdir(), 'chat-auth-'));
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pemFile = join(dir, 'public.pem');
    writeFileSync(pemFile, await exportSPKI(publicKey));
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks));
    return new Tokens(dir, privateKey, pemFile, jwksFile, jwks);
  }

  /** An HS256 token signed with `secret` (SECRET unless given). */
  hs256(claims: TokenClaims, secret = SECRET): Promise<string> {
    return sign(claims, 'HS256', new TextEncoder().encode(secret));
  }

  /** An ES256 token signed with the pair's private key. */
  es256(claims: TokenClaims, kid = 'k1'): Promise<string> {
    return sign(claims, 'ES256', this.privateKey, kid);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Signs with iss/aud defaults and exp `expIn` seconds from now (none when expIn is undefined and exp is not given). */
async function sign({ expIn = 60, ...claims }: TokenClaims, alg: string, key: SigningKey, kid?: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: now + expIn, ...claims })
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .setIssuedAt(now)
    .sign(key);
}
