/** What a client reads from its own JWT (unverified: the server verifies). */
export interface TokenClaims {
  /** `exp` in ms since the Unix epoch. */
  expiresAt?: number;
  /** `sub`: the user id the server will bind the stream to. */
  subject?: string;
  /** `name`, the usual display name claim. */
  name?: string;
}

/**
 * A JWT's payload claims, read without verifying: the client only needs to know
 * when to refresh and whom the server will see; nothing when it is not a JWT.
 */
export function tokenClaims(token: string): TokenClaims {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
  if (typeof claims !== 'object' || claims === null) return {};
  const { exp, sub, name } = claims;
  return {
    expiresAt: typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined,
    subject: typeof sub === 'string' && sub !== '' ? sub : undefined,
    name: typeof name === 'string' && name !== '' ? name : undefined,
  };
}
