import type { Context } from '@opentelemetry/api';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import type { ClientEnvelope } from '../../gen/chat/v1/chat.js';
import { ImpersonationError, InvalidRequestError, RateLimitedError, RoomRequestError, ServerShutdownError, SlowConsumerError } from '../domain/errors.js';
import type { Admission } from '../domain/Backpressure.js';
import type { Hub } from '../domain/Hub.js';
import type { Session } from '../domain/Session.js';
import { asVouchedUser } from './asVouchedUser.js';
import type { ChatTelemetry } from './ChatTelemetry.js';
import type { FramedWrite } from './FramedWrite.js';
import type { AuthContext } from './authMiddleware.js';
import type { PeerLimits } from './PeerLimits.js';
import { sessionWrites } from './sessionWrites.js';
import { TLS_USER_KEY } from './tlsIdentityInterceptor.js';
import { TokenLifetime } from './TokenLifetime.js';
import type { TokenVerifier, VerifiedToken } from './TokenVerifier.js';
import { toErrorNotice, toServerError } from './toServerError.js';

/** Whether the server still takes new streams. */
export interface Gate {
  readonly draining: boolean;
}

/** How the handler writes a session's queue. */
export interface WriteOptions {
  /** Write what waits in the queue as one FramedWrite (the grpc-js hook is installed). */
  coalesce: boolean;
  /** tlsIdentityInterceptor runs (TLS is on): the metadata's TLS_USER_KEY is its, not the client's. */
  tlsIdentity?: boolean;
  /** Auth is on: verifies RefreshTokens, and the stream ends when its token expires. */
  verifier?: TokenVerifier;
}

/**
 * The Channel handler: one async generator per stream. Requests are read and
 * applied to the hub as they come; the session's queue of encoded events is what
 * the generator yields. A half-close leaves every room, flushes and ends OK;
 * anything else ends the stream with the status toServerError maps it to.
 */
export function channelHandler(hub: Hub, gate: Gate, log: Logger, telemetry: ChatTelemetry, { coalesce, tlsIdentity = false, verifier }: WriteOptions, peers: PeerLimits) {
  return async function* channel(
    requests: AsyncIterable<ClientEnvelope>,
    context: CallContext & AuthContext,
  ): AsyncGenerator<Uint8Array | FramedWrite, void, undefined> {
    if (gate.draining) throw new ServerError(Status.UNAVAILABLE, 'SERVER_SHUTDOWN: the server is shutting down');
    // The user a verified client certificate names (mTLS); see tlsIdentityInterceptor.
    const vouched = tlsIdentity ? context.metadata.get(TLS_USER_KEY) : undefined;
    if (vouched === '') throw new ServerError(Status.UNAUTHENTICATED, 'the client certificate has no (single) subject CN to take the user from');
    const { auth } = context;
    // A certificate and a token that name different users: neither may speak for the other.
    if (vouched !== undefined && auth !== undefined && vouched !== auth.subject) {
      throw new ServerError(Status.PERMISSION_DENIED, `this connection's client certificate is for user "${vouched}", but its token is for "${auth.subject}"`);
    }
    const admitted = peers.open(context.peer);
    if (typeof admitted !== 'function') {
      telemetry.refused(admitted.limit);
      telemetry.error(admitted.code);
      log.warn({ event: 'stream_refused', peer: context.peer, limit: admitted.limit });
      throw new ServerError(Status.RESOURCE_EXHAUSTED, admitted.message);
    }
    const session = hub.openSession(auth && { userId: auth.subject, displayName: auth.displayName });
    const lifetime = auth && verifier && tokenLifetime(hub, session, verifier);
    lifetime?.set(auth!.expiresAt);
    const refresh = lifetime && ((token: string) => refreshToken(session, verifier!, auth!, lifetime, token));
    const started = performance.now();
    telemetry.streamOpened();
    // Every line about this stream carries its span's ids (when telemetry is on).
    const streamLog = telemetry.enabled ? log.child(telemetry.logFields()) : log;
    streamLog.info({ event: 'stream_start', stream: session.id, peer: context.peer });

    const cancel = () => session.queue.abort(context.signal.reason);
    context.signal.addEventListener('abort', cancel, { once: true });
    readRequests(hub, session, requests, telemetry, telemetry.streamContext(), vouched, refresh).then(
      () => {
        hub.closeSession(session);
        session.queue.close();
      },
      (error: unknown) => {
        hub.closeSession(session);
        session.queue.abort(error);
      },
    );

    let outcome: unknown;
    let failure: unknown;
    try {
      yield* sessionWrites(session, telemetry, coalesce);
    } catch (error) {
      failure = error;
      outcome = context.signal.aborted ? context.signal.reason : toServerError(error);
      throw outcome;
    } finally {
      lifetime?.stop();
      context.signal.removeEventListener('abort', cancel);
      admitted();
      hub.closeSession(session);
      const durationMs = performance.now() - started;
      const status = outcome instanceof ServerError ? outcome.code : context.signal.aborted ? Status.CANCELLED : Status.OK;
      // A drain's UNAVAILABLE is the server going away, not an error of the stream's.
      const expected = status === Status.OK || status === Status.CANCELLED || failure instanceof ServerShutdownError;
      const code = expected ? undefined : failure instanceof SlowConsumerError ? 'SLOW_CONSUMER' : Status[status];
      telemetry.streamClosed(durationMs, status, code);
      streamLog.info({
        event: 'stream_end',
        stream: session.id,
        user: session.userId || undefined,
        reason: endReason(outcome, context.signal.aborted),
        durationMs: Math.round(durationMs),
      });
    }
  };
}

async function readRequests(
  hub: Hub,
  session: Session,
  requests: AsyncIterable<ClientEnvelope>,
  telemetry: ChatTelemetry,
  stream: Context | undefined,
  vouched: string | undefined,
  refresh: ((token: string) => Promise<void>) | undefined,
): Promise<void> {
  /** Publishes to shared rooms on their way to the owner (a stream does not wait for each; see applyShared). */
  const inFlight = new Set<Promise<void>>();
  for await (const received of requests) {
    if (received.message?.$case === 'refresh') {
      // With auth off there is no token to replace: a client that sends one anyway goes on as before.
      if (refresh !== undefined && !session.queue.closed) await refresh(received.message.value.token);
      continue;
    }
    const envelope = vouched === undefined ? received : asVouchedUser(received, vouched);
    // Backpressure: a request waits, unread behind it, while its room or the
    // server is behind, or while its own stream is; HTTP/2 flow control then
    // slows the client down instead of anyone's queue growing.
    const [kind, room] = admissionOf(envelope);
    for (let wait = hub.admission(session, kind, room); wait !== undefined; wait = hub.admission(session, kind, room)) {
      await Promise.race([wait, session.queue.whenEnded()]);
      if (session.queue.closed) return;
    }
    if (session.queue.closed) return;
    try {
      if (hub.backplane !== undefined) await applyShared(hub, session, envelope, inFlight, telemetry, stream);
      else telemetry.within(stream, () => apply(hub, session, envelope, telemetry));
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      if (error.limit !== undefined) telemetry.refused(error.limit);
      telemetry.error(error.code);
      session.send(toErrorNotice(error));
    }
  }
  // A half-close still gets its own copies of what it sent.
  await Promise.all(inFlight);
}

/** The TOKEN_EXPIRING notice, then the end of the stream (UNAUTHENTICATED) once its events are written. */
function tokenLifetime(hub: Hub, session: Session, verifier: TokenVerifier): TokenLifetime {
  const { expiryNoticeS, clockToleranceS } = verifier.config;
  return new TokenLifetime(expiryNoticeS * 1000, clockToleranceS * 1000, {
    warn: (endsAt) =>
      session.send({ kind: 'generic', code: 'TOKEN_EXPIRING', message: `the stream's token expires at ${new Date(endsAt).toISOString()}: send a RefreshToken with a new one to stay connected`, room: '' }),
    expire: () => {
      hub.closeSession(session);
      session.queue.close(new ServerError(Status.UNAUTHENTICATED, 'TOKEN_EXPIRED: the stream\'s token expired and was not refreshed'));
    },
  });
}

/** A RefreshToken: a valid token for the same sub moves the stream's end to its exp. */
async function refreshToken(session: Session, verifier: TokenVerifier, auth: VerifiedToken, lifetime: TokenLifetime, token: string): Promise<void> {
  // Verifying costs CPU (and may fetch keys): refreshes count against the stream's rate like any envelope.
  if (!session.rate.take()) {
    session.send(toErrorNotice(new RateLimitedError('too many requests: the refresh was not applied', '')));
    return;
  }
  const fresh = await verifier.verify(token);
  if (fresh.subject !== auth.subject) throw new ImpersonationError(`the refresh token is for user "${fresh.subject}", not this stream's "${auth.subject}"`);
  lifetime.set(fresh.expiresAt);
}

function admissionOf({ message }: ClientEnvelope): [Admission, string] {
  if (message?.$case === 'chat') return ['publish', message.value.room];
  if (message?.$case === 'join') return ['join', message.value.room];
  return ['other', ''];
}

function apply(hub: Hub, session: Session, { message }: ClientEnvelope, telemetry: ChatTelemetry): void {
  switch (message?.$case) {
    case 'join': {
      const { value } = message;
      telemetry.join(value.room, () =>
        hub.join(session, {
          userId: value.userId,
          room: value.room,
          displayName: value.displayName,
          afterSeq: value.afterSeq,
          history: value.history,
          epoch: value.epoch,
          batchEvents: value.batchEvents,
        }),
      );
      return;
    }
    case 'chat': {
      const { value } = message;
      telemetry.publish(value.room, value.traceContext, value.content, (traceContext) =>
        hub.publish(session, { userId: value.userId, room: value.room, content: value.content, clientMsgId: value.clientMsgId, traceContext }),
      );
      return;
    }
    case 'leave':
      return telemetry.leave(message.value.room, () => hub.leave(session, { userId: message.value.userId, room: message.value.room }));
    default:
      throw new InvalidRequestError('envelope has no message set (join, chat, leave or refresh)');
  }
}

/** Publishes one stream may have on their way to shared rooms' owners; the next waits for the oldest. */
const MAX_PUBLISHES_IN_FLIGHT = 256;

/**
 * A request to rooms shared through the backplane. A join or leave is applied
 * once the room's owner has answered. A publish is checked here and sent on
 * without waiting (the backplane keeps a room's commands in order); a refusal
 * from the owner comes back as the usual notice, and an owner that cannot be
 * reached ends the stream (UNAVAILABLE: the client reconnects and resumes).
 * Spans: chat.join, chat.leave and chat.publish to the owner's answer; no chat.deliver (docs/scale-out.md).
 */
async function applyShared(hub: Hub, session: Session, { message }: ClientEnvelope, inFlight: Set<Promise<void>>, telemetry: ChatTelemetry, stream: Context | undefined): Promise<void> {
  switch (message?.$case) {
    case 'join': {
      const { value } = message;
      await telemetry.within(stream, () => telemetry.join(value.room, () => hub.joinShared(session, value)));
      return;
    }
    case 'chat': {
      const { value } = message;
      const publish = (traceContext: Record<string, string>) => hub.publishShared(session, { userId: value.userId, room: value.room, content: value.content, clientMsgId: value.clientMsgId, traceContext });
      const sent: Promise<void> = telemetry.within(stream, () => telemetry.publishShared(value.room, value.traceContext, value.content, publish)).then(
        () => {},
        (error: unknown) => {
          if (error instanceof RoomRequestError) {
            if (error.limit !== undefined) telemetry.refused(error.limit);
            telemetry.error(error.code);
            session.send(toErrorNotice(error));
          } else {
            hub.closeSession(session);
            session.queue.abort(error);
          }
        },
      );
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
      if (inFlight.size >= MAX_PUBLISHES_IN_FLIGHT) await Promise.race(inFlight);
      return;
    }
    case 'leave': {
      const { room, userId } = message.value;
      return telemetry.within(stream, () => telemetry.leave(room, () => hub.leaveShared(session, { userId, room })));
    }
    default:
      throw new InvalidRequestError('envelope has no message set (join, chat, leave or refresh)');
  }
}

function endReason(outcome: unknown, cancelled: boolean): string {
  if (cancelled) return 'cancelled';
  if (outcome === undefined) return 'half_close';
  if (outcome instanceof ServerError) return `${Status[outcome.code]}: ${outcome.details}`;
  return String(outcome);
}
