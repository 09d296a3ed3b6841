/**
 * runWorkers as a process of its own, forking test/helpers/tinyWorker.ts, with
 * restarts fast enough for a test: what test/e2e/runWorkers.test.ts starts.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { runWorkers } from '../../src/server/runWorkers.js';

const result = await runWorkers({
  count: Number(process.env.WORKERS ?? '2'),
  log: pino(),
  exec: fileURLToPath(new URL('./tinyWorker.ts', import.meta.url)),
  restarts: { backoffMs: 20, maxBackoffMs: 200, maxRestarts: 3, windowMs: 10_000 },
});
if (result.error !== undefined) process.stderr.write(`primary: ${result.error}\n`);
process.exit(result.code);
