/**
 * The domain's failures, one class each (shaped after nats.js core/src/errors.ts).
 * The gRPC adapter maps them in one place (src/server/toServerError.ts): a
 * RoomRequestError becomes a TYPE_ERROR notice and the stream goes on; a
 * StreamError ends the stream with a status.
 */

/** A request about one room was refused; the stream goes on. */
export abstract class RoomRequestError extends Error {
  /** The machine-readable code sent in the notice. */
  abstract readonly code: string;
  /** The abuse limit that refused it (counted in chat.limits.refused), if one did. */
  readonly limit: string | undefined = undefined;

  constructor(
    message: string,
    /** The room the request was about. */
    readonly room: string,
    /** The chat message's client_msg_id, when the request was a chat. */
    readonly clientMsgId = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class NotJoinedError extends RoomRequestError {
  override name = 'NotJoinedError';
  readonly code = 'NOT_JOINED';
}

export class AlreadyJoinedError extends RoomRequestError {
  override name = 'AlreadyJoinedError';
  readonly code = 'ALREADY_JOINED';
}

export class InvalidRoomError extends RoomRequestError {
  override name = 'InvalidRoomError';
  readonly code = 'INVALID_ROOM';
}

export class InvalidContentError extends RoomRequestError {
  override name = 'InvalidContentError';
  readonly code = 'INVALID_CONTENT';
}

export class InvalidDisplayNameError extends RoomRequestError {
  override name = 'InvalidDisplayNameError';
  readonly code = 'INVALID_DISPLAY_NAME';
}

export class RateLimitedError extends RoomRequestError {
  override name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED';
  override readonly limit: string = 'requests_per_stream';
}

/** The stream joins faster than its join rate: RATE_LIMITED, as for any request over the rate. */
export class JoinRateLimitedError extends RateLimitedError {
  override name = 'JoinRateLimitedError';
  override readonly limit: string = 'joins_per_stream';
}

/** The room has as many members as it may. */
export class RoomFullError extends RoomRequestError {
  override name = 'RoomFullError';
  readonly code = 'ROOM_FULL';
  override readonly limit = 'members_per_room';
}

/** The join would create a room past the server's room limit (not the stream's: that is TOO_MANY_ROOMS). */
export class ServerRoomsFullError extends RoomRequestError {
  override name = 'ServerRoomsFullError';
  readonly code = 'SERVER_ROOMS_FULL';
  override readonly limit = 'rooms_per_server';
}

/** The room took more joins and leaves this second than it may: the join is refused, to be retried later. */
export class RoomBusyError extends RoomRequestError {
  override name = 'RoomBusyError';
  readonly code = 'ROOM_BUSY';
  override readonly limit = 'room_churn';
}

export class TooManyRoomsError extends RoomRequestError {
  override name = 'TooManyRoomsError';
  readonly code = 'TOO_MANY_ROOMS';
}

/** A failure that ends the whole stream. */
export abstract class StreamError extends Error {}

/** The request is malformed (no message set, no or bad user_id on the first join). */
export class InvalidRequestError extends StreamError {
  override name = 'InvalidRequestError';
}

/** The envelope names a user other than the one the stream is bound to. */
export class ImpersonationError extends StreamError {
  override name = 'ImpersonationError';
}

/** The session's outbound queue passed its bound: it is cut off and must resume. */
export class SlowConsumerError extends StreamError {
  override name = 'SlowConsumerError';
  constructor(
    message: string,
    /** Why it was cut off. */
    readonly reason: CutOffCause,
  ) {
    super(message);
  }
}

/**
 * Why a stream was cut off as a slow consumer: no write progress for the write
 * deadline, its queue past its own bound, or stalled while the server is over its
 * queue budget.
 */
export type CutOffCause = 'write_deadline' | 'queue_bound' | 'budget';

/** The server is draining: the client should reconnect (elsewhere, or later). */
export class ServerShutdownError extends StreamError {
  override name = 'ServerShutdownError';
}

/** A room's owner node could not be reached, or could not store what was asked, in time: the client should reconnect and resume. */
export class RoomUnavailableError extends StreamError {
  override name = 'RoomUnavailableError';
}
