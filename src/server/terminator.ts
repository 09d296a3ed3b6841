import { isAbortError } from 'abort-controller-x';
import { ServerError, Status, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc';

/** A middleware plus the switch that aborts every call it wraps. */
export interface Terminator {
  middleware: ServerMiddleware;
  /** Aborts the wrapped calls still open; they end with UNAVAILABLE. Call before server.shutdown(). */
  terminate(): void;
}

/**
 * `server.shutdown()` waits for every open call, and a health watch never ends by
 * itself. This does what nice-grpc-server-middleware-terminator does (that
 * package is not on this project's registry): each wrapped call gets its own
 * signal, aborted by the client or by terminate(). Chat streams are not wrapped:
 * the hub ends them itself when it drains, and they are the calls there are
 * thousands of, so they skip this layer's controller, listeners and generator.
 */
export function createTerminator(): Terminator {
  const open = new Set<AbortController>();
  let terminated = false;

  async function* middleware<Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const controller = new AbortController();
    const forward = () => controller.abort(context.signal.reason);
    if (context.signal.aborted || terminated) forward();
    context.signal.addEventListener('abort', forward, { once: true });
    open.add(controller);
    try {
      return yield* call.next(call.request, { ...context, signal: controller.signal });
    } catch (error) {
      if (terminated && !context.signal.aborted && isAbortError(error)) throw new ServerError(Status.UNAVAILABLE, 'server shutting down');
      throw error;
    } finally {
      open.delete(controller);
      context.signal.removeEventListener('abort', forward);
    }
  }

  return {
    middleware,
    terminate() {
      terminated = true;
      for (const controller of open) controller.abort();
    },
  };
}
