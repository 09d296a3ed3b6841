import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where a benchmarked server sends its telemetry: an HTTP endpoint on
 * 127.0.0.1:0 that takes every OTLP export, counts its bytes and answers 200,
 * so the bench measures the cost of producing and exporting telemetry, not of
 * a collector.
 */
export class OtlpSink {
  bytes = 0;
  requests = 0;
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpSink> {
    let sink: OtlpSink;
    const server = http.createServer((req, res) => {
      req.on('data', (chunk: Buffer) => (sink.bytes += chunk.length));
      req.on('end', () => {
        sink.requests += 1;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    sink = new OtlpSink(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
