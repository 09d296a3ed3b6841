import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { waitFor } from './waitFor.js';

const root = protobuf.parse(readFileSync(new URL('../fixtures/otlp/otlp.proto', import.meta.url), 'utf8'), { keepCase: false }).root;
const TraceRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const MetricsRequest = root.lookupType('opentelemetry.proto.ExportMetricsServiceRequest');

type Value = string | number | boolean | Value[] | { [key: string]: Value } | null;

/** A span as received, whatever the encoding: ids in hex, attributes as a plain object. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, Value>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, Value> }>;
  events: Array<{ name: string }>;
  /** Status code: 0 unset, 1 ok, 2 error. */
  status: number;
  /** service.name of the resource that sent it. */
  service: string;
}

/** One data point of a metric, as received. */
export interface ReceivedPoint {
  metric: string;
  unit: string;
  type: 'gauge' | 'sum' | 'histogram';
  service: string;
  attributes: Record<string, Value>;
  /** Gauges and sums. */
  value?: number;
  /** Histograms. */
  count?: number;
  sum?: number;
}

/**
 * A real OTLP/HTTP receiver on 127.0.0.1:0: POST /v1/traces and /v1/metrics in
 * either encoding OTLP allows (application/x-protobuf, decoded with the OTLP
 * message definitions in test/fixtures/otlp/otlp.proto, or application/json),
 * gzip or not. It answers 200 with an empty response and keeps what it got.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly points: ReceivedPoint[] = [];
  /** Content types seen, per path. */
  readonly encodings = new Set<string>();
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
          receiver.encodings.add(`${req.url} ${type}`);
          const json = type === 'application/json';
          if (req.url === '/v1/traces') receiver.takeSpans(json ? fromJson(body) : decode(TraceRequest, body));
          else if (req.url === '/v1/metrics') receiver.takePoints(json ? fromJson(body) : decode(MetricsRequest, body));
          else {
            res.writeHead(404).end();
            return;
          }
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : undefined);
        } catch (error) {
          res.writeHead(400).end(String(error));
        }
      });
    });
    receiver = new OtlpReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** The base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Waits for spans matching `filter` to be at least `count`; returns them. */
  async waitForSpans(filter: (s: ReceivedSpan) => boolean, count: number, timeoutMs = 15_000): Promise<ReceivedSpan[]> {
    return waitFor(() => {
      const found = this.spans.filter(filter);
      return found.length >= count && found;
    }, { timeoutMs, what: `${count} matching spans (have ${this.spans.length} spans: ${[...new Set(this.spans.map((s) => s.name))].join(', ')})` });
  }

  /** The latest point of a metric (cumulative metrics: the running total) matching the attributes given. */
  latest(metric: string, attributes: Record<string, Value> = {}): ReceivedPoint | undefined {
    return this.points.findLast((p) => p.metric === metric && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private takeSpans(request: Record<string, any>): void {
    for (const rs of request.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            name: s.name,
            kind: Number(s.kind ?? 0),
            startNs: BigInt(s.startTimeUnixNano ?? 0),
            endNs: BigInt(s.endTimeUnixNano ?? 0),
            attributes: attributesOf(s.attributes),
            links: (s.links ?? []).map((l: any) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId), attributes: attributesOf(l.attributes) })),
            events: (s.events ?? []).map((e: any) => ({ name: e.name })),
            status: Number(s.status?.code ?? 0),
            service,
          });
        }
      }
    }
  }

  private takePoints(request: Record<string, any>): void {
    for (const rm of request.resourceMetrics ?? []) {
      const service = String(attributesOf(rm.resource?.attributes)['service.name'] ?? '');
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const type = m.gauge ? 'gauge' : m.sum ? 'sum' : m.histogram ? 'histogram' : undefined;
          if (type === undefined) continue;
          for (const p of m[type].dataPoints ?? []) {
            const base = { metric: m.name, unit: m.unit ?? '', type, service, attributes: attributesOf(p.attributes) } as const;
            if (type === 'histogram') this.points.push({ ...base, count: Number(p.count ?? 0), sum: Number(p.sum ?? 0) });
            else this.points.push({ ...base, value: Number(p.asDouble ?? p.asInt ?? 0) });
          }
        }
      }
    }
  }
}

/** Decodes protobuf into plain objects: 64-bit numbers as strings, bytes as Buffers. */
function decode(type: protobuf.Type, body: Buffer): Record<string, any> {
  return type.toObject(type.decode(body), { longs: String, bytes: Buffer, defaults: false, oneofs: false });
}

/** OTLP/JSON: lowerCamelCase fields, ids as hex strings, 64-bit numbers as strings or numbers. */
function fromJson(body: Buffer): Record<string, any> {
  return JSON.parse(body.toString('utf8'));
}

function hex(id: unknown): string {
  if (id === undefined || id === null) return '';
  if (typeof id === 'string') return id.toLowerCase(); // JSON encoding: already hex
  return Buffer.from(id as Uint8Array).toString('hex');
}

function attributesOf(list: Array<{ key: string; value?: Record<string, any> }> | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const { key, value } of list ?? []) out[key] = anyValue(value);
  return out;
}

function anyValue(v: Record<string, any> | undefined): Value {
  if (v === undefined) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  if ('kvlistValue' in v) return attributesOf(v.kvlistValue.values);
  if ('bytesValue' in v) return hex(v.bytesValue);
  return null;
}
