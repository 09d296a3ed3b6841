/**
 * A worker for test/e2e/runWorkers.test.ts: listens on the cluster's shared port
 * and answers each connection with its pid, so a test sees which worker took it.
 * TINY_WORKER_CRASH=N makes worker N exit at once; TINY_WORKER_ON_SIGTERM says
 * what the others do when told to stop: `exit` (0, the default), `fail` (exit 4)
 * or `hang` (never exit).
 */
import { createServer } from 'node:net';
import { WORKER_INDEX_VARIABLE } from '../../src/server/runWorkers.js';

if (process.env[WORKER_INDEX_VARIABLE] === process.env.TINY_WORKER_CRASH) process.exit(3);
const server = createServer((socket) => socket.end(`${process.pid}\n`));
server.listen(0, '127.0.0.1');
process.once('SIGTERM', () => {
  const mode = process.env.TINY_WORKER_ON_SIGTERM ?? 'exit';
  if (mode !== 'hang') server.close(() => process.exit(mode === 'fail' ? 4 : 0));
});
