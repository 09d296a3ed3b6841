#!/usr/bin/env node
// Asks a server's grpc.health.v1.Health/Check and exits with the answer: the
// container's HEALTHCHECK runs it every few seconds, so it is plain JavaScript
// (no tsx start-up) and loads only nice-grpc. Exit codes follow Docker's
// HEALTHCHECK contract (0 healthy, 1 unhealthy; 2 is reserved there), and the
// output says which kind of unhealthy.
import { parseArgs } from 'node:util';
import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';

const EXIT = { healthy: 0, unhealthy: 1, usage: 64 };
const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus
const usage = `Usage: grpc-health-probe [--addr HOST:PORT] [--service NAME] [--timeout MS]

Asks grpc.health.v1.Health/Check and exits 0 when the answer is SERVING.
  --addr HOST:PORT  the server (default 127.0.0.1:$CHAT_GRPC_PORT, else 127.0.0.1:50051)
  --service NAME    the service to ask about (default "": the whole server)
  --timeout MS      give up after this long, connecting included (default 2000)
Exit codes: 0 serving; 1 not serving, unreachable, no answer in time or the call
failed (the output says which); 64 bad arguments.
`;

function refuse(message) {
  process.stderr.write(`grpc-health-probe: ${message}\n\n${usage}`);
  process.exit(EXIT.usage);
}

let options;
try {
  options = parseArgs({
    options: { addr: { type: 'string' }, service: { type: 'string', default: '' }, timeout: { type: 'string', default: '2000' }, help: { type: 'boolean' } },
  }).values;
} catch (error) {
  refuse(error.message);
}
if (options.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const timeoutMs = Number(options.timeout);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) refuse(`--timeout must be a positive whole number of milliseconds, not "${options.timeout}"`);
const addr = options.addr ?? `127.0.0.1:${process.env.CHAT_GRPC_PORT || 50051}`;
if (!/^\S+:\d+$/.test(addr)) refuse(`--addr must be HOST:PORT, not "${addr}"`);

const channel = createChannel(addr);
const client = createClient(HealthDefinition, channel);
let code = EXIT.unhealthy;
// A signal, not a deadline: nice-grpc applies deadlines only through a middleware.
const signal = AbortSignal.timeout(timeoutMs);
try {
  const { status } = await client.check({ service: options.service }, { signal });
  if (status === SERVING) code = EXIT.healthy;
  process.stdout.write(`${addr}: ${status === SERVING ? 'SERVING' : `not serving (status ${status})`}\n`);
} catch (error) {
  const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : error instanceof ClientError ? `${error.code === Status.UNAVAILABLE ? 'unreachable' : 'health check failed'}: ${error.details}` : String(error);
  process.stderr.write(`${addr}: ${reason}\n`);
}
channel.close();
process.exit(code);
