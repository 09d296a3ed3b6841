import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { withTimeout } from '../lib/withTimeout.js';
import { SyncContextManager } from './SyncContextManager.js';
import type { Telemetry, TelemetryOptions } from './startTelemetry.js';

/** Longest a shutdown waits for the last export: an unreachable collector must not hold up a drain. */
const SHUTDOWN_MS = 3000;

/**
 * The NodeSDK, configured from the environment: OTLP exporters for traces and
 * metrics (http/protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL says otherwise), W3C
 * trace context, the sampler of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG
 * (parentbased_always_on when unset), no automatic instrumentation (the gRPC
 * middleware and our own spans say what matters). `serviceName` applies unless
 * the environment names one. `envDefaults` go into process.env (what the SDK
 * reads) where it leaves those variables unset. Without `asyncContext`, the
 * active context follows synchronous calls only (see SyncContextManager).
 */
export function startSdk(serviceName: string, { asyncContext, envDefaults = {} }: TelemetryOptions): Telemetry {
  for (const [key, value] of Object.entries(envDefaults)) {
    if (!process.env[key]?.trim()) process.env[key] = value;
  }
  const sdk = new NodeSDK({
    // No sampler here: the SDK applies OTEL_TRACES_SAMPLER, or OpenTelemetry's default.
    // The default name; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, detected from the environment, win.
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    instrumentations: [],
    // Nothing here emits OpenTelemetry logs (pino writes JSON lines): no logs pipeline.
    logRecordProcessors: [],
    contextManager: asyncContext ? undefined : new SyncContextManager(),
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  const shutdown = async () => {
    await withTimeout(sdk.shutdown().catch(() => {}), SHUTDOWN_MS);
  };
  return { shutdown: () => (stopped ??= shutdown()) };
}
