import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { ServerError, Status } from 'nice-grpc-common';
import type { AuthConfig } from './authConfig.js';

/** What a verified token says about its caller. */
export interface VerifiedToken {
  /** `sub`: the user the call speaks as. */
  subject: string;
  /** The name claim (CHAT_AUTH_NAME_CLAIM) when it is a non-empty string. */
  displayName: string | undefined;
  /** `exp` in ms since the Unix epoch; undefined: the token does not expire. */
  expiresAt: number | undefined;
}

/**
 * Verifies JWTs with jose against the configured key source, issuer and
 * audience. A refusal is a ServerError: UNAUTHENTICATED with a reason code first
 * (`TOKEN_EXPIRED: ...`), or UNAVAILABLE when a remote JWKS cannot be fetched
 * (not the caller's fault: it may retry).
 */
export class TokenVerifier {
  private readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  private readonly options: JWTVerifyOptions;

  constructor(readonly config: AuthConfig) {
    const { key } = config;
    const algorithms = key.kind === 'secret' ? ['HS256'] : key.kind === 'publicKey' ? key.algorithms : undefined;
    this.key =
      key.kind === 'secret'
        ? key.secret
        : key.kind === 'publicKey'
          ? key.key
          : key.kind === 'jwksFile'
            ? createLocalJWKSet(key.jwks)
            : // jose caches the keys, and refetches early (at most every cooldown) for an unknown kid.
              createRemoteJWKSet(key.url, { cacheMaxAge: config.jwksCacheMs, timeoutDuration: config.jwksTimeoutMs });
    // A token without exp would make a stream (or a refresh) last forever: exp is required.
    this.options = { algorithms, issuer: config.issuer, audience: config.audience, clockTolerance: config.clockToleranceS, requiredClaims: ['exp'] };
  }

  /** The `authorization: Bearer <JWT>` of a call's metadata, verified. */
  async verifyMetadata(metadata: { get(key: string): string | Uint8Array | undefined }): Promise<VerifiedToken> {
    const header = metadata.get('authorization');
    if (header === undefined || header === '') throw rejected('NO_TOKEN', 'this server needs `authorization: Bearer <JWT>` metadata');
    const match = typeof header === 'string' ? /^Bearer +(\S+)$/i.exec(header.trim()) : null;
    if (match === null) throw rejected('MALFORMED', 'authorization metadata must be `Bearer <JWT>`');
    return this.verify(match[1]!);
  }

  /** A compact JWT, verified. */
  async verify(token: string): Promise<VerifiedToken> {
    let payload;
    try {
      ({ payload } = await (typeof this.key === 'function' ? jwtVerify(token, this.key, this.options) : jwtVerify(token, this.key, this.options)));
    } catch (error) {
      throw refusal(error);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw rejected('NO_SUBJECT', 'the token has no `sub` claim (the user id)');
    const name = payload[this.config.nameClaim];
    return {
      subject: payload.sub,
      displayName: typeof name === 'string' && name !== '' ? name : undefined,
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  }
}

function rejected(reason: string, message: string): ServerError {
  return new ServerError(Status.UNAUTHENTICATED, `${reason}: ${message}`);
}

/** jose's failure as the status the caller gets, with a reason code first. */
function refusal(error: unknown): ServerError {
  if (error instanceof errors.JWTExpired) return rejected('TOKEN_EXPIRED', `the token expired (exp ${new Date(Number(error.payload.exp) * 1000).toISOString()})`);
  if (error instanceof errors.JWSSignatureVerificationFailed) return rejected('BAD_SIGNATURE', 'the token’s signature does not verify');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return rejected('WRONG_ISSUER', `iss is not the expected issuer (${error.message})`);
    if (error.claim === 'aud') return rejected('WRONG_AUDIENCE', `aud is not this server’s audience (${error.message})`);
    if (error.claim === 'nbf') return rejected('NOT_YET_VALID', error.message);
    return rejected('INVALID_CLAIMS', `${error.claim}: ${error.message}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return rejected('ALGORITHM_NOT_ALLOWED', error.message);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return rejected('UNKNOWN_KEY', error.message);
  if (error instanceof errors.JWKSTimeout) return new ServerError(Status.UNAVAILABLE, `KEYS_UNAVAILABLE: ${error.message}`);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) return rejected('MALFORMED', error.message);
  if (error instanceof errors.JOSEError) return rejected('INVALID_TOKEN', error.message);
  // A remote JWKS that cannot be fetched (refused, DNS, not JSON): the keys, not the token.
  return new ServerError(Status.UNAVAILABLE, `KEYS_UNAVAILABLE: the keys that verify tokens could not be fetched (${(error as Error).message})`);
}
