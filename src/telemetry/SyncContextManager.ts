import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * A context manager that carries the active context through synchronous calls
 * only (`with`, and functions made by `bind`). The SDK's default,
 * AsyncLocalStorage, also follows every promise and callback, which in Node 20
 * means async hooks on every promise the server makes (several per message
 * written): the benchmark showed it halving throughput. The server does not
 * need it: nice-grpc-opentelemetry enters each stream's context synchronously
 * each time it pulls the handler's next response, and the handler passes the
 * stream's context explicitly wherever it awaits (the request loop) and takes
 * its log fields once, at the start.
 */
export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  /**
   * Binds functions. Event emitters come back as they are: only automatic
   * instrumentation binds them, and the server runs none.
   */
  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    const fn = target as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, fn, this, ...args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
