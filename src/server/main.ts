#!/usr/bin/env node
/** `npm start`: reads the configuration, starts telemetry if asked, serves, and drains on SIGINT/SIGTERM. */
import { SERVER_SPAN_BATCHING, startTelemetry, TelemetryConfigError } from '../telemetry/startTelemetry.js';
import { ConfigError, loadConfig, usage } from './config.js';

let config;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (error) {
  const message = error instanceof ConfigError || error instanceof TypeError ? error.message : String(error);
  process.stderr.write(`chat-grpc: ${message}\n\n${usage()}`);
  process.exit(2);
}
if (config === 'help') {
  process.stdout.write(usage());
  process.exit(0);
}

// Telemetry first, then the gRPC stack (a dynamic import, so it loads after).
let telemetry;
try {
  telemetry = await startTelemetry(process.env, 'chat-grpc', { asyncContext: false, envDefaults: SERVER_SPAN_BATCHING });
} catch (error) {
  if (!(error instanceof TelemetryConfigError)) throw error;
  process.stderr.write(`chat-grpc: ${error.message}\n`);
  process.exit(2);
}
const { startChatServer } = await import('./startChatServer.js');
const server = await startChatServer(config, { telemetry: telemetry !== undefined });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server
      .drain()
      // The last spans and metrics (the drain's own included) go out before exit.
      .then(() => telemetry?.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`chat-grpc: drain failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  });
}
