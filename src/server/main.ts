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
const started = import('./startChatServer.js').then(({ startChatServer }) => startChatServer(config, { telemetry: telemetry !== undefined }));
// The handlers are in place before the server listens: a signal sent as soon as
// it logs `listening` drains it rather than killing the process.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    started
      .then((server) => server.drain())
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
await started;
