import http2 from 'node:http2';
import type { Http2Connection } from './OriginalChannel.js';
import { waitFor } from './waitFor.js';

/** How a raw stream ended: its grpc-status and grpc-message, or -1 when it closed without one. */
export interface RawEnd {
  code: number;
  details: string;
  /** Bytes of DATA the server sent before it ended. */
  bytes: number;
}

/**
 * A Channel stream on which a test writes whatever bytes it likes (gRPC
 * message frames or not), then half-closes, and reads back how it ended.
 */
export class RawGrpcStream {
  end: RawEnd | undefined;
  private bytes = 0;
  private readonly stream: http2.ClientHttp2Stream;

  constructor(connection: Http2Connection, headers: http2.OutgoingHttpHeaders = {}) {
    this.stream = connection.session.request({
      ':method': 'POST',
      ':path': '/chat.v1.ChatService/Channel',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const ended = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] === undefined) return;
      this.end = { code: Number(h['grpc-status']), details: decodeURIComponent(String(h['grpc-message'] ?? '')), bytes: this.bytes };
    };
    this.stream.on('response', ended);
    this.stream.on('trailers', ended);
    this.stream.on('data', (chunk: Buffer) => (this.bytes += chunk.length));
    this.stream.on('error', () => {});
    this.stream.on('close', () => (this.end ??= { code: -1, details: `closed without a status (rst ${this.stream.rstCode})`, bytes: this.bytes }));
  }

  /** Writes the bytes as they are, then half-closes. */
  send(bytes: Uint8Array): void {
    this.stream.end(bytes);
  }

  async ended(timeoutMs = 5000): Promise<RawEnd> {
    return waitFor(() => this.end, { timeoutMs, what: 'the raw stream to end' });
  }

  close(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** A gRPC message frame: compressed flag, 4-byte big-endian length, body. `length` may lie. */
export function grpcFrame(body: Uint8Array, { compressed = false, length = body.byteLength }: { compressed?: boolean; length?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(compressed ? 1 : 0, 0);
  header.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([header, body]);
}
