#!/usr/bin/env node
/** `npm start`: reads the configuration, serves, and drains on SIGINT/SIGTERM. */
import { ConfigError, loadConfig, usage } from './config.js';
import { startChatServer } from './startChatServer.js';

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

const server = await startChatServer(config);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.drain().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`chat-grpc: drain failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
