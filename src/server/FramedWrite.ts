import { createRequire } from 'node:module';

/**
 * The grpc-js versions this hook was checked against: the exact range package.json
 * asks for (test/unit/FramedWrite.test.ts fails when the two differ, so a bump of
 * grpc-js is a prompt to check its internals again).
 */
export const VERIFIED_GRPC_JS = '1.14';

/**
 * One HTTP/2 write of messages that are already gRPC-framed (each with its 5-byte
 * header), so that many small events cost one write instead of one each.
 *
 * grpc-js frames every message itself, in BaseServerInterceptingCall.serializeMessage,
 * and writes each one with its own http2 stream write; it has no writev or cork, and
 * a change to let callers write pre-serialized frames was closed unmerged
 * (https://github.com/grpc/grpc-node/pull/2652). A response stream is only
 * length-prefixed messages in DATA frames, so N framed messages in one buffer are N
 * ordinary messages to any client. `install()` makes serializeMessage pass a
 * FramedWrite's bytes through as they are; everything else is framed as before, and
 * grpc-js still checks the size, writes with backpressure and reports errors.
 */
export class FramedWrite {
  private static installed: boolean | undefined;

  constructor(
    /** One or more gRPC messages, each with its header. */
    readonly bytes: Buffer,
    /** Called when grpc-js starts this write: every write before it on the stream is done. */
    readonly onStart?: () => void,
  ) {}

  /**
   * Hooks grpc-js, once. Returns undefined when the hook is in place, or why it is
   * not (another grpc-js version, or internals other than those checked): then
   * callers must write one event at a time.
   */
  static install(): string | undefined {
    if (FramedWrite.installed) return undefined;
    const refusal = FramedWrite.check();
    if (refusal !== undefined) return refusal;
    const proto = baseCallPrototype();
    const frame = proto.serializeMessage;
    proto.serializeMessage = function serializeMessage(this: unknown, value: unknown): Buffer {
      if (!(value instanceof FramedWrite)) return frame.call(this, value);
      value.onStart?.();
      return value.bytes;
    };
    FramedWrite.installed = true;
    return undefined;
  }

  /** Whether install() succeeded. */
  static get active(): boolean {
    return FramedWrite.installed === true;
  }

  /** Why the hook cannot be installed on the grpc-js that is loaded, or undefined if it can. */
  static check(): string | undefined {
    const version = grpcJsVersion();
    if (!inRange(version, VERIFIED_GRPC_JS)) return `@grpc/grpc-js ${version} is not ${VERIFIED_GRPC_JS}.x, which the framed-write hook was checked against`;
    const proto = baseCallPrototype();
    if (typeof proto?.serializeMessage !== 'function' || typeof proto.sendMessage !== 'function') {
      return `@grpc/grpc-js ${version}: BaseServerInterceptingCall.serializeMessage/sendMessage not found`;
    }
    // sendMessage must frame through serializeMessage, check the size, then write the result as is.
    const send = String(proto.sendMessage);
    const wanted = ['this.serializeMessage(message)', 'response.length - 5 > this.maxSendMessageSize', 'this.stream.write(response'];
    const missing = wanted.filter((s) => !send.includes(s));
    if (missing.length > 0) return `@grpc/grpc-js ${version}: sendMessage no longer does ${missing.join(', ')}`;
    return undefined;
  }
}

interface BaseCallPrototype {
  serializeMessage(this: unknown, value: unknown): Buffer;
  sendMessage(this: unknown, message: unknown, callback: () => void): void;
}

const require = createRequire(import.meta.url);

function baseCallPrototype(): BaseCallPrototype {
  const internals = require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: BaseCallPrototype } };
  return internals.BaseServerInterceptingCall?.prototype as BaseCallPrototype;
}

function grpcJsVersion(): string {
  return (require('@grpc/grpc-js/package.json') as { version: string }).version;
}

/** `version` is within a "MAJOR.MINOR" range (npm's "1.14" is >=1.14.0 <1.15.0). */
function inRange(version: string, range: string): boolean {
  return version.startsWith(`${range}.`) && /^\d+\.\d+\.\d+$/.test(version);
}
