import type { Session } from '../domain/Session.js';
import type { ChatTelemetry } from './ChatTelemetry.js';
import { packFrames } from './encodeBatch.js';
import { frameWrites } from './frameMessages.js';
import { FramedWrite } from './FramedWrite.js';

/**
 * Most bytes taken from a queue at once, and so the largest write and the
 * largest run a room packs: big enough that a write's fixed cost is spread over
 * hundreds of events, small enough that a slow reader still shows progress often.
 */
export const MAX_WRITE_BYTES = 64 * 1024;

/**
 * What a stream writes: its session's queue, as FramedWrites (`coalesce`: the
 * grpc-js hook is installed) or one write per event.
 */
export function sessionWrites(session: Session, telemetry: ChatTelemetry, coalesce: boolean): AsyncGenerator<Uint8Array | FramedWrite, void, undefined> {
  return coalesce ? framedWrites(session, telemetry) : eventWrites(session, telemetry);
}

/**
 * Everything waiting in the queue, as few writes as fit MAX_WRITE_BYTES. One write
 * is handed to grpc-js at a time: what arrives meanwhile waits in the queue, where
 * it counts for backpressure and is written with the next. Each write's start
 * is the session's write progress.
 */
async function* framedWrites(session: Session, telemetry: ChatTelemetry): AsyncGenerator<FramedWrite, void, undefined> {
  let wake: (() => void) | undefined;
  let watching = false;
  const onStart = () => {
    session.writePending = false;
    session.progressed();
    wake?.();
  };
  for await (const frames of session.queue.batches(MAX_WRITE_BYTES)) {
    telemetry.written(session, frames);
    for (const bytes of frameWrites(session.batching ? packFrames(frames) : frames, MAX_WRITE_BYTES)) {
      session.writePending = true;
      yield new FramedWrite(bytes, onStart);
      // Usually grpc-js started it at once; else the write before it is still under way.
      if (session.writePending && !session.queue.aborted) {
        // A cut-off aborts the queue while a write waits to start: stop waiting then.
        if (!watching) void session.queue.whenAborted().then(() => wake?.());
        watching = true;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  }
}

/** One write per event (or per batch, for a stream that takes batches): what grpc-js does without the hook. */
async function* eventWrites(session: Session, telemetry: ChatTelemetry): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const frames of session.queue.batches(MAX_WRITE_BYTES)) {
    telemetry.written(session, frames);
    for (const frame of session.batching ? packFrames(frames) : frames) {
      yield frame;
      // nice-grpc asks for the next one once grpc-js took this one.
      session.progressed();
    }
  }
}
