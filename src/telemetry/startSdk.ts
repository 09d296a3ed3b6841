import { NodeSDK } from '@opentelemetry/sdk-node';
import { SyncContextManager } from './SyncContextManager.js';
import type { Telemetry, TelemetryOptions } from './startTelemetry.js';

/** Longest a shutdown waits for the last export: an unreachable collector must not hold up a drain. */
const SHUTDOWN_MS = 3000;

/**
 * The NodeSDK, configured from the environment: OTLP exporters for traces and
 * metrics (http/protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL says otherwise), W3C
 * trace context, no automatic instrumentation (the gRPC middleware and our own
 * spans say what matters). `serviceName` applies when OTEL_SERVICE_NAME is unset.
 * Without `asyncContext`, the active context follows synchronous calls only
 * (see SyncContextManager).
 */
export function startSdk(env: NodeJS.ProcessEnv, serviceName: string, { asyncContext }: TelemetryOptions): Telemetry {
  if (!env.OTEL_SERVICE_NAME) process.env.OTEL_SERVICE_NAME = serviceName;
  const sdk = new NodeSDK({ instrumentations: [], contextManager: asyncContext ? undefined : new SyncContextManager() });
  sdk.start();
  let stopped: Promise<void> | undefined;
  const shutdown = async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_MS)));
    try {
      await Promise.race([sdk.shutdown().catch(() => {}), late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { shutdown: () => (stopped ??= shutdown()) };
}
