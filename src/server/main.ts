#!/usr/bin/env node
/**
 * `npm start`: reads the configuration, starts telemetry if asked, serves, and drains on SIGINT/SIGTERM.
 * With --workers N > 1 this process is the primary of N such processes instead (runWorkers).
 */
import cluster from 'node:cluster';
import { SERVER_SPAN_BATCHING, startTelemetry, TelemetryConfigError } from '../telemetry/startTelemetry.js';
import { ConfigError, loadConfig, usage } from './config.js';
import { WORKER_INDEX_VARIABLE } from './runWorkers.js';

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
if (config.workers > 1 && cluster.isPrimary) {
  // The primary serves nothing itself, so it starts no telemetry: each worker does.
  const [{ runWorkers }, { pino }] = await Promise.all([import('./runWorkers.js'), import('pino')]);
  // Each worker serves TLS with its own copy of the certificates: each reloads them.
  if (config.tls) process.on('SIGHUP', () => Object.values(cluster.workers ?? {}).forEach((w) => w?.process.kill('SIGHUP')));
  const result = await runWorkers({ count: config.workers, log: pino({ level: config.logLevel }) });
  if (result.error !== undefined) process.stderr.write(`chat-grpc: ${result.error}\n`);
  process.exit(result.code);
}
const worker = cluster.isWorker ? Number(process.env[WORKER_INDEX_VARIABLE]) : undefined;

// Telemetry first, then the gRPC stack (a dynamic import, so it loads after).
let telemetry;
try {
  telemetry = await startTelemetry(process.env, 'chat-grpc', { asyncContext: false, envDefaults: SERVER_SPAN_BATCHING });
} catch (error) {
  if (!(error instanceof TelemetryConfigError)) throw error;
  process.stderr.write(`chat-grpc: ${error.message}\n`);
  process.exit(2);
}
const started = import('./startChatServer.js').then(({ startChatServer }) => startChatServer(config, { telemetry: telemetry !== undefined, worker }));
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
// SIGHUP reloads the TLS certificates (without TLS it keeps its default: the process ends).
if (config.tls) process.on('SIGHUP', () => void started.then((server) => server.reloadCertificates()));
await started;
