import type { Context } from '@opentelemetry/api';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import type { ClientEnvelope } from '../../gen/chat/v1/chat.js';
import { InvalidRequestError, RoomRequestError, ServerShutdownError, SlowConsumerError } from '../domain/errors.js';
import type { Hub } from '../domain/Hub.js';
import type { Session } from '../domain/Session.js';
import type { ChatTelemetry } from './ChatTelemetry.js';
import { packFrames } from './encodeBatch.js';
import { toErrorNotice, toServerError } from './toServerError.js';

/** Most bytes taken from the queue at once, and so the largest packed batch (a client takes 4 MiB by default). */
const MAX_BATCH_BYTES = 256 * 1024;

/** Whether the server still takes new streams. */
export interface Gate {
  readonly draining: boolean;
}

/**
 * The Channel handler: one async generator per stream. Requests are read and
 * applied to the hub as they come; the session's queue of encoded events is what
 * the generator yields. A half-close leaves every room, flushes and ends OK;
 * anything else ends the stream with the status toServerError maps it to.
 */
export function channelHandler(hub: Hub, gate: Gate, log: Logger, telemetry: ChatTelemetry) {
  return async function* channel(
    requests: AsyncIterable<ClientEnvelope>,
    context: CallContext,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    if (gate.draining) throw new ServerError(Status.UNAVAILABLE, 'SERVER_SHUTDOWN: the server is shutting down');
    const session = hub.openSession();
    const started = performance.now();
    telemetry.streamOpened();
    // Every line about this stream carries its span's ids (when telemetry is on).
    const streamLog = telemetry.enabled ? log.child(telemetry.logFields()) : log;
    streamLog.info({ event: 'stream_start', stream: session.id, peer: context.peer });

    const cancel = () => session.queue.abort(context.signal.reason);
    context.signal.addEventListener('abort', cancel, { once: true });
    readRequests(hub, session, requests, telemetry, telemetry.streamContext()).then(
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
      for await (const frames of session.queue.batches(MAX_BATCH_BYTES)) {
        telemetry.written(session, frames);
        yield* session.batching ? packFrames(frames) : frames;
      }
    } catch (error) {
      failure = error;
      outcome = context.signal.aborted ? context.signal.reason : toServerError(error);
      throw outcome;
    } finally {
      context.signal.removeEventListener('abort', cancel);
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
): Promise<void> {
  for await (const envelope of requests) {
    // Read no faster than the client reads its own events: a client that stops
    // reading is paced by HTTP/2 flow control instead of growing our queue.
    await session.queue.whenRoom();
    if (session.queue.closed) return;
    try {
      telemetry.within(stream, () => apply(hub, session, envelope, telemetry));
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      telemetry.error(error.code);
      session.send(toErrorNotice(error));
    }
  }
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
      throw new InvalidRequestError('envelope has no message set (join, chat or leave)');
  }
}

function endReason(outcome: unknown, cancelled: boolean): string {
  if (cancelled) return 'cancelled';
  if (outcome === undefined) return 'half_close';
  if (outcome instanceof ServerError) return `${Status[outcome.code]}: ${outcome.details}`;
  return String(outcome);
}
