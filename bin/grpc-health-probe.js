#!/usr/bin/env node
// Asks a server's grpc.health.v1.Health/Check and exits with the answer: the
// container's HEALTHCHECK runs it every few seconds, so it is plain JavaScript
// (no tsx start-up) and loads only nice-grpc. Exit codes follow grpc_health_probe.
import { parseArgs } from 'node:util';
import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';

const EXIT = { serving: 0, usage: 1, unreachable: 2, rpcFailed: 3, notServing: 4 };
const usage = `Usage: grpc-health-probe [--addr HOST:PORT] [--service NAME] [--timeout MS]

Asks grpc.health.v1.Health/Check and exits 0 when the answer is SERVING.
  --addr HOST:PORT  the server (default 127.0.0.1:$CHAT_GRPC_PORT, else 127.0.0.1:50051)
  --service NAME    the service to ask about (default "": the whole server)
  --timeout MS      give up after this long (default 2000)
Exit codes: 0 serving, 1 bad arguments, 2 unreachable, 3 RPC failed, 4 not serving.
`;

let options;
try {
  options = parseArgs({
    options: { addr: { type: 'string' }, service: { type: 'string', default: '' }, timeout: { type: 'string', default: '2000' }, help: { type: 'boolean' } },
  }).values;
} catch (error) {
  process.stderr.write(`grpc-health-probe: ${error.message}\n\n${usage}`);
  process.exit(EXIT.usage);
}
if (options.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const timeoutMs = Number(options.timeout);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
  process.stderr.write(`grpc-health-probe: --timeout must be a positive whole number of milliseconds, not "${options.timeout}"\n`);
  process.exit(EXIT.usage);
}
const addr = options.addr ?? `127.0.0.1:${process.env.CHAT_GRPC_PORT || 50051}`;

const channel = createChannel(addr);
const client = createClient(HealthDefinition, channel);
let code;
try {
  const { status } = await client.check({ service: options.service }, { deadline: new Date(Date.now() + timeoutMs) });
  // 1 is SERVING in grpc.health.v1; anything else is an answer, but not a healthy one.
  code = status === 1 ? EXIT.serving : EXIT.notServing;
  process.stdout.write(`${addr}: ${code === EXIT.serving ? 'SERVING' : `not serving (status ${status})`}\n`);
} catch (error) {
  const unreachable = error instanceof ClientError && (error.code === Status.UNAVAILABLE || error.code === Status.DEADLINE_EXCEEDED);
  code = unreachable ? EXIT.unreachable : EXIT.rpcFailed;
  process.stderr.write(`${addr}: ${unreachable ? 'unreachable' : 'health check failed'}: ${error.message ?? String(error)}\n`);
}
channel.close();
process.exit(code);
