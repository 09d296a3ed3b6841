import { isAbortError } from 'abort-controller-x';
import { ServerError, Status, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc';

/** Lets a call ask to be aborted when the server terminates. */
export interface TerminatorContext {
  /** Mark this call as one that shutdown should abort rather than wait for. */
  abortOnTerminate(): void;
}

/** A middleware plus the switch that aborts every call that asked for it. */
export interface Terminator {
  middleware: ServerMiddleware<TerminatorContext>;
  /** Aborts the marked calls; they end with UNAVAILABLE. Call before server.shutdown(). */
  terminate(): void;
}

/**
 * `server.shutdown()` waits for every open call, and a chat stream or a health
 * watch never ends by itself. This does what nice-grpc-server-middleware-terminator
 * does (that package is not on this project's registry): each call gets its own
 * signal, aborted by the client or by terminate().
 */
export function createTerminator(): Terminator {
  const marked = new Set<AbortController>();
  let terminated = false;

  async function* middleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response, TerminatorContext>,
    context: CallContext,
  ) {
    const controller = new AbortController();
    const forward = () => controller.abort(context.signal.reason);
    if (context.signal.aborted) forward();
    context.signal.addEventListener('abort', forward, { once: true });
    let byTerminate = false;
    const abortOnTerminate = () => {
      marked.add(controller);
      if (terminated) controller.abort();
    };
    controller.signal.addEventListener('abort', () => (byTerminate = terminated && !context.signal.aborted), { once: true });
    try {
      return yield* call.next(call.request, { ...context, signal: controller.signal, abortOnTerminate });
    } catch (error) {
      if (byTerminate && isAbortError(error)) throw new ServerError(Status.UNAVAILABLE, 'server shutting down');
      throw error;
    } finally {
      marked.delete(controller);
      context.signal.removeEventListener('abort', forward);
    }
  }

  return {
    middleware,
    terminate() {
      terminated = true;
      for (const controller of marked) controller.abort();
    },
  };
}
