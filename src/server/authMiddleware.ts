import { type CallContext, ServerError, type ServerMiddleware, type ServerMiddlewareCall, Status } from 'nice-grpc-common';
import type { Logger } from 'pino';
import type { TokenVerifier, VerifiedToken } from './TokenVerifier.js';

/** What authMiddleware adds to a call's context: the caller's verified token. */
export interface AuthContext {
  /** Undefined when auth is off (the middleware is not installed). */
  auth?: VerifiedToken;
}

/**
 * Token auth for every call it wraps (Channel and ListRooms): the
 * `authorization: Bearer <JWT>` metadata is verified before the handler runs, a
 * refusal ends the call with its status (UNAUTHENTICATED and a reason), and the
 * handler gets the token's identity in `context.auth`. The shape of nice-grpc's
 * auth example (README "Server middleware"): extend the context, then `call.next`.
 */
export function authMiddleware(verifier: TokenVerifier, log: Logger): ServerMiddleware<AuthContext> {
  return async function* auth<Request, Response>(call: ServerMiddlewareCall<Request, Response, AuthContext>, context: CallContext): AsyncGenerator<Response, Response | void, undefined> {
    let verified: VerifiedToken;
    try {
      verified = await verifier.verifyMetadata(context.metadata);
    } catch (error) {
      // Operators see who was turned away and why; the token itself is never logged.
      if (error instanceof ServerError) log.info({ event: 'auth_refused', method: call.method.path, peer: context.peer, status: Status[error.code], reason: error.details });
      throw error;
    }
    return yield* call.next(call.request as never, { ...context, auth: verified });
  };
}
