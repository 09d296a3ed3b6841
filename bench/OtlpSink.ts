import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * Where a benchmarked server sends its telemetry: an HTTP endpoint on
 * 127.0.0.1:0 that takes every OTLP export, counts its bytes and answers 200,
 * so the bench measures the cost of producing and exporting telemetry, not of
 * a collector. It keeps the trace exports as they came and counts their spans
 * only when asked (spans()), after the run.
 */
export class OtlpSink {
  bytes = 0;
  requests = 0;
  private readonly traces: Array<{ body: Buffer; json: boolean }> = [];
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpSink> {
    let sink: OtlpSink;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        sink.bytes += chunk.length;
        if (req.url === '/v1/traces') chunks.push(chunk);
      });
      req.on('end', () => {
        sink.requests += 1;
        if (req.url === '/v1/traces') {
          const body = Buffer.concat(chunks);
          sink.traces.push({ body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body, json: (req.headers['content-type'] ?? '').startsWith('application/json') });
        }
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

  /** Spans received so far, by name. */
  spans(): Record<string, number> {
    const names: Record<string, number> = {};
    const count = (name: string) => (names[name] = (names[name] ?? 0) + 1);
    for (const { body, json } of this.traces) {
      if (json) {
        const request = JSON.parse(body.toString()) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ name: string }> }> }> };
        for (const r of request.resourceSpans ?? []) for (const s of r.scopeSpans ?? []) for (const span of s.spans ?? []) count(span.name);
      } else {
        // ExportTraceServiceRequest.resource_spans (1) → ResourceSpans.scope_spans (2) → ScopeSpans.spans (2) → Span.name (5).
        for (const r of fields(body, 1)) for (const s of fields(r, 2)) for (const span of fields(s, 2)) count(fields(span, 5)[0]?.toString() ?? '');
      }
    }
    return names;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The length-delimited fields numbered `wanted` in a protobuf message (the rest skipped). */
function fields(message: Buffer, wanted: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = message[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < message.length) {
    const tag = varint();
    const type = tag & 7;
    if (type === 0) varint();
    else if (type === 1) at += 8;
    else if (type === 5) at += 4;
    else if (type === 2) {
      const length = varint();
      if (Math.floor(tag / 8) === wanted) out.push(message.subarray(at, at + length));
      at += length;
    } else throw new Error(`protobuf wire type ${type} is not expected in OTLP`);
  }
  return out;
}
