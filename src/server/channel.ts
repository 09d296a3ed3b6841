import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import type { ClientEnvelope } from '../../gen/chat/v1/chat.js';
import { InvalidRequestError, RoomRequestError } from '../domain/errors.js';
import type { Hub } from '../domain/Hub.js';
import type { Session } from '../domain/Session.js';
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
export function channelHandler(hub: Hub, gate: Gate, log: Logger) {
  return async function* channel(
    requests: AsyncIterable<ClientEnvelope>,
    context: CallContext,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    if (gate.draining) throw new ServerError(Status.UNAVAILABLE, 'SERVER_SHUTDOWN: the server is shutting down');
    const session = hub.openSession();
    const started = performance.now();
    log.info({ event: 'stream_start', stream: session.id, peer: context.peer });

    const cancel = () => session.queue.abort(context.signal.reason);
    context.signal.addEventListener('abort', cancel, { once: true });
    readRequests(hub, session, requests).then(
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
    try {
      for await (const frames of session.queue.batches(MAX_BATCH_BYTES)) {
        yield* session.batching ? packFrames(frames) : frames;
      }
    } catch (error) {
      outcome = context.signal.aborted ? context.signal.reason : toServerError(error);
      throw outcome;
    } finally {
      context.signal.removeEventListener('abort', cancel);
      hub.closeSession(session);
      log.info({
        event: 'stream_end',
        stream: session.id,
        user: session.userId || undefined,
        reason: endReason(outcome, context.signal.aborted),
        durationMs: Math.round(performance.now() - started),
      });
    }
  };
}

async function readRequests(hub: Hub, session: Session, requests: AsyncIterable<ClientEnvelope>): Promise<void> {
  for await (const envelope of requests) {
    // Read no faster than the client reads its own events: a client that stops
    // reading is paced by HTTP/2 flow control instead of growing our queue.
    await session.queue.whenRoom();
    if (session.queue.closed) return;
    try {
      apply(hub, session, envelope);
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      session.send(toErrorNotice(error));
    }
  }
}

function apply(hub: Hub, session: Session, { message }: ClientEnvelope): void {
  switch (message?.$case) {
    case 'join':
      return hub.join(session, {
        userId: message.value.userId,
        room: message.value.room,
        displayName: message.value.displayName,
        afterSeq: message.value.afterSeq,
        history: message.value.history,
        epoch: message.value.epoch,
        batchEvents: message.value.batchEvents,
      });
    case 'chat':
      return hub.publish(session, {
        userId: message.value.userId,
        room: message.value.room,
        content: message.value.content,
        clientMsgId: message.value.clientMsgId,
        traceContext: message.value.traceContext,
      });
    case 'leave':
      return hub.leave(session, { userId: message.value.userId, room: message.value.room });
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
