import { isIP } from 'node:net';
import { type Attributes, type Context, context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isAbortError } from 'abort-controller-x';
import { type CallContext, ServerError, type ServerMiddlewareCall, Status } from 'nice-grpc-common';

const tracer = trace.getTracer('chat-grpc');

/** Reads W3C trace context from gRPC metadata. */
const metadataGetter = {
  get: (metadata: CallContext['metadata'], key: string) => {
    const value = metadata.get(key);
    return typeof value === 'string' ? value : undefined;
  },
  keys: (metadata: CallContext['metadata']) => Array.from(metadata, ([key]) => key),
};

/**
 * The server span of every RPC, as nice-grpc-opentelemetry's server middleware
 * makes it (name `package.Service/Method`, kind SERVER, the caller's trace
 * context from the metadata as parent, rpc.* and net.peer.* attributes, the
 * gRPC status), without its `message` span event per request and response:
 * on a Channel stream that is an event, and an async generator step, for every
 * envelope and every write, which the benchmark showed costing more than the
 * chat.publish spans they would sit next to, while the span keeps only its last
 * 128 events anyway. The handler runs in the span's context (the context is
 * entered for each of its steps, as the server's SyncContextManager needs).
 */
export function tracingMiddleware<Request, Response>(call: ServerMiddlewareCall<Request, Response>, callContext: CallContext): AsyncGenerator<Response, Response | void, undefined> {
  const parent = propagation.extract(ROOT_CONTEXT, callContext.metadata, metadataGetter);
  const [, service, method] = call.method.path.split('/');
  const span = tracer.startSpan(call.method.path.slice(1), { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, ...peerAttributes(callContext.peer) } }, parent);
  const active = trace.setSpan(parent, span);
  return bound(active, traced(call, callContext, span));
}

async function* traced<Request, Response>(call: ServerMiddlewareCall<Request, Response>, callContext: CallContext, span: ReturnType<typeof tracer.startSpan>): AsyncGenerator<Response, Response | void, undefined> {
  let status = Status.OK;
  let message = '';
  try {
    if (!call.responseStream) return yield* call.next(call.request as never, callContext);
    yield* call.next(call.request as never, callContext);
    return;
  } catch (error) {
    if (error instanceof ServerError) {
      status = error.code;
      message = error.details;
    } else if (isAbortError(error)) {
      status = Status.CANCELLED;
      message = 'The operation was cancelled';
    } else {
      status = Status.UNKNOWN;
      message = 'Unknown server error occurred';
      span.recordException(error as Error);
    }
    throw error;
  } finally {
    span.setAttribute('rpc.grpc.status_code', status);
    span.setAttribute('rpc.grpc.status_text', Status[status]);
    if (status !== Status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: `${Status[status]}: ${message}` });
    span.end();
  }
}

/** The generator with each of its steps run in `ctx`. */
function bound<T, R>(ctx: Context, generator: AsyncGenerator<T, R, undefined>): AsyncGenerator<T, R, undefined> {
  const self: AsyncGenerator<T, R, undefined> = {
    next: (...args) => context.with(ctx, () => generator.next(...args)),
    return: (value) => context.with(ctx, () => generator.return(value)),
    throw: (error) => context.with(ctx, () => generator.throw(error)),
    [Symbol.asyncIterator]: () => self,
  } as AsyncGenerator<T, R, undefined>;
  return self;
}

/** net.peer.* from grpc-js's peer string (`host:port`, `[v6]:port`). */
function peerAttributes(peer: string): Attributes {
  const colon = peer.lastIndexOf(':');
  const port = colon === -1 ? NaN : Number(peer.slice(colon + 1));
  if (Number.isNaN(port)) return { 'net.peer.name': peer };
  const host = peer.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? { 'net.peer.ip': host, 'net.peer.port': port } : { 'net.peer.name': host, 'net.peer.port': port };
}
