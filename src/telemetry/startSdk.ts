import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { withTimeout } from '../lib/withTimeout.js';
import { SyncContextManager } from './SyncContextManager.js';
import type { Telemetry, TelemetryOptions } from './startTelemetry.js';

/** Longest a shutdown waits for the last export: an unreachable collector must not hold up a drain. */
const SHUTDOWN_MS = 3000;

/**
 * The NodeSDK, configured from the environment: OTLP exporters for traces and
 * metrics (http/protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL says otherwise), W3C
 * trace context, no automatic instrumentation (the gRPC middleware and our own
 * spans say what matters). `serviceName` applies unless the environment names one.
 * Without `asyncContext`, the active context follows synchronous calls only
 * (see SyncContextManager).
 */
export function startSdk(env: NodeJS.ProcessEnv, serviceName: string, { asyncContext, rootSampleRatio = 1 }: TelemetryOptions): Telemetry {
  // OTEL_TRACES_SAMPLER, when set, is the SDK's to apply.
  const sampler = env.OTEL_TRACES_SAMPLER || rootSampleRatio >= 1 ? undefined : new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(rootSampleRatio) });
  const sdk = new NodeSDK({
    sampler,
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
