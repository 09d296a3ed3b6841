import { ClientError, Status } from 'nice-grpc';

/** Codes a retry cannot fix: the server refused who we are or what we sent. */
const FATAL = new Set([Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED, Status.UNIMPLEMENTED]);
/**
 * In the details of a RESOURCE_EXHAUSTED end that is not a refused envelope: a
 * slow-consumer cut-off, or a stream over the server's per-connection or per-IP
 * limit (docs/protocol.md, Abuse limits); a retry with backoff can fix each.
 */
const NOT_AN_ENVELOPE = /\b(SLOW_CONSUMER|TOO_MANY_STREAMS|TOO_MANY_CONNECTIONS)\b/;

/** Why a Channel stream ended, as far as a ChatConnection acts on it. */
export interface StreamEnd {
  /** A retry cannot fix it: the connection closes for good. */
  fatal: boolean;
  /** What ended it, for the user (e.g. `UNAVAILABLE: …`). */
  text: string;
  /** The server refused an envelope over its size limit (which one, it does not say). */
  oversized: boolean;
}

/** Reads the error a Channel stream ended with, so that what is retried is decided in one place. */
export function streamEnd(error: unknown): StreamEnd {
  if (!(error instanceof ClientError)) return { fatal: false, text: String(error), oversized: false };
  return {
    fatal: FATAL.has(error.code),
    text: `${Status[error.code]}: ${error.details}`,
    oversized: error.code === Status.RESOURCE_EXHAUSTED && !NOT_AN_ENVELOPE.test(error.details),
  };
}
