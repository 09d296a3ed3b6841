import { ServerError, Status } from 'nice-grpc';
import { isAbortError } from 'abort-controller-x';
import {
  ImpersonationError,
  InvalidRequestError,
  type RoomRequestError,
  RoomUnavailableError,
  ServerShutdownError,
  SlowConsumerError,
} from '../domain/errors.js';
import type { NoticeEvent } from '../domain/events.js';

/**
 * The one place where failures become what the client sees: a stream-ending
 * error becomes a gRPC status, and a refused room request a TYPE_ERROR notice.
 * (The idea of nice-grpc's server/createErrorStatusObject.ts, for our errors.)
 */
export function toServerError(error: unknown): unknown {
  if (error instanceof ServerError || isAbortError(error)) return error;
  if (error instanceof InvalidRequestError) return new ServerError(Status.INVALID_ARGUMENT, error.message);
  if (error instanceof ImpersonationError) return new ServerError(Status.PERMISSION_DENIED, error.message);
  if (error instanceof SlowConsumerError) return new ServerError(Status.RESOURCE_EXHAUSTED, error.message);
  if (error instanceof ServerShutdownError || error instanceof RoomUnavailableError) return new ServerError(Status.UNAVAILABLE, error.message);
  return new ServerError(Status.INTERNAL, 'internal error');
}

/** The notice that answers a refused room request; the stream goes on. */
export function toErrorNotice(error: RoomRequestError): NoticeEvent {
  return {
    kind: 'error',
    code: error.code,
    message: error.message,
    room: error.room,
    clientMsgId: error.clientMsgId,
  };
}
