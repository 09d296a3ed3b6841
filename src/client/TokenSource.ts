import { Metadata, type ClientMiddleware } from 'nice-grpc';

/** The token a client sends: a fixed JWT, or a function returning the current one (asked before each call and each refresh). */
export type TokenSource = string | (() => string | Promise<string>);

/** Call options the token middleware reads. */
export interface TokenCallOptions {
  /** Told which token the call was opened with (a session schedules its refresh from it). */
  onToken?: (token: string) => void;
}

/** The current token of a source. */
export async function currentToken(source: TokenSource): Promise<string> {
  const token = typeof source === 'string' ? source : await source();
  if (typeof token !== 'string' || token.trim() === '') throw new Error('the token source gave no token');
  return token.trim();
}

/** Sends `authorization: Bearer <token>` with every call (Channel, ListRooms). */
export function tokenMiddleware(source: TokenSource): ClientMiddleware<TokenCallOptions> {
  return async function* withToken(call, options) {
    const token = await currentToken(source);
    const { onToken, ...rest } = options;
    onToken?.(token);
    return yield* call.next(call.request as never, { ...rest, metadata: Metadata(options.metadata).set('authorization', `Bearer ${token}`) });
  };
}
