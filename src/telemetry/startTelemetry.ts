/** What the entry point keeps: the way to flush and stop telemetry during drain. */
export interface Telemetry {
  /** Exports what is still buffered, then stops; resolves when done, or after 3 s if the collector does not answer. */
  shutdown(): Promise<void>;
}

/** How telemetry is started. */
export interface TelemetryOptions {
  /**
   * Follow the active context across promises and callbacks (AsyncLocalStorage).
   * The server turns it off: it passes contexts explicitly and its hot path is
   * made of promises, which async hooks would slow down.
   */
  asyncContext: boolean;
  /**
   * Values for standard OTEL_* variables that the environment leaves unset (a
   * variable that is set wins), e.g. the server's span batching
   * (SERVER_SPAN_BATCHING).
   */
  envDefaults?: Readonly<Record<string, string>>;
}

/**
 * The server's BatchSpanProcessor, sized for every message traced (one
 * chat.publish each, plus a chat.deliver per traced write): the SDK's queue of
 * 2,048 spans drops spans as soon as a burst of messages outruns one export;
 * this one holds about 1.5 s of 10,000 spans a second. Exports of 1,024 spans
 * (about 250 KB of OTLP protobuf), at least every second: the processor sends
 * one request at a time, so smaller batches fell behind a busy server in the
 * bench (a batch of 64 left most spans queued until shutdown, where the
 * exporter takes at most 30 requests at once and refused the rest), and a full
 * queue drains at shutdown in 16 requests. OTEL_BSP_* still override each one.
 */
export const SERVER_SPAN_BATCHING: Readonly<Record<string, string>> = {
  OTEL_BSP_MAX_QUEUE_SIZE: '16384',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1024',
  OTEL_BSP_SCHEDULE_DELAY: '1000',
};

/**
 * Whether the standard OTEL_* variables ask for telemetry: an OTLP endpoint (any
 * signal), or an exporter named in OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER,
 * and OTEL_SDK_DISABLED not true.
 */
export function telemetryConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const endpoint = ENDPOINTS.some((k) => env[k]?.trim());
  const exporters = [env.OTEL_TRACES_EXPORTER, env.OTEL_METRICS_EXPORTER].some((v) => v?.split(',').some((e) => !['', 'none'].includes(e.trim())));
  return endpoint || exporters;
}

/** An OTEL_* variable the SDK would choke on; the message names it and its value. */
export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
}

const ENDPOINTS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'];

/** Throws for an endpoint that is not an http(s) URL: the exporters would otherwise crash the process on their first export. */
function checkEndpoints(env: NodeJS.ProcessEnv): void {
  for (const key of ENDPOINTS) {
    const value = env[key]?.trim();
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || !['http:', 'https:'].includes(url.protocol)) {
      throw new TelemetryConfigError(`${key}="${value}" is not an http:// or https:// URL (for example http://localhost:4318)`);
    }
  }
}

/**
 * Starts the OpenTelemetry SDK when the environment asks for it, before the
 * caller loads anything else. Without configuration nothing of the SDK is even
 * loaded (a dynamic import), so telemetry off costs nothing. The SDK reads the
 * standard variables itself: endpoints and protocol (per signal too), service
 * name, resource attributes, export interval, console exporters.
 */
export async function startTelemetry(env: NodeJS.ProcessEnv, serviceName: string, options: TelemetryOptions = { asyncContext: true }): Promise<Telemetry | undefined> {
  if (!telemetryConfigured(env)) return undefined;
  checkEndpoints(env);
  const { startSdk } = await import('./startSdk.js');
  return startSdk(serviceName, options);
}
