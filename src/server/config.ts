import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import type { Limits } from '../domain/limits.js';
import { type AuthConfig, authConfig } from './authConfig.js';
import { MAX_WORKERS, settings } from './settings.js';

/** Everything the server is started with. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Processes serving the port: more than 1 makes this one their primary (runWorkers). */
  workers: number;
  limits: Limits;
  maxMessageBytes: number;
  /** Largest event sent; passed to grpc-js, and no coalesced write is larger. */
  maxSendMessageBytes: number;
  /** Write the events waiting for a stream in one HTTP/2 write (FramedWrite). */
  coalesceWrites: boolean;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  drainGraceMs: number;
  logLevel: string;
  /** Channel streams open at once on one connection (PeerLimits). */
  maxStreamsPerConnection: number;
  /** Connections with Channel streams open from one IP address (PeerLimits). */
  maxConnectionsPerIp: number;
  /** With telemetry on: receivers per frame whose write of it gets a chat.deliver span. */
  traceDeliveries: number;
  /** NATS servers to share rooms with other servers through JetStream (CHAT_NATS_URL); none: rooms live in this process. */
  natsServers: string[] | undefined;
  /** Replicas of the backplane's stream and buckets. */
  natsReplicas: number;
  /** How long a node's heartbeat and a room owner's lease last unrenewed. */
  nodeTtlMs: number;
  /** Serve TLS with these files (CHAT_TLS_*); none: plaintext. */
  tls?: TlsFiles;
  /** Token auth (CHAT_AUTH_*); undefined: off, every call is served as before. It carries the four auth numbers below. */
  auth: AuthConfig | undefined;
  authClockToleranceS: number;
  authExpiryNoticeS: number;
  authJwksCacheMs: number;
  authJwksTimeoutMs: number;
}

/** The PEM files TLS is served with; read at start and again on SIGHUP. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA whose client certificates are verified (mTLS); a verified one binds the stream to its subject CN. */
  clientCaFile?: string;
  /** Refuse connections without a client certificate the CA signed (default: let them in, unbound). */
  requireClientCert?: boolean;
}

/** A setting has a value it cannot take; the message names both and what is allowed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the configuration from the environment and flags (flags win). */
export function loadConfig(env: NodeJS.ProcessEnv, argv: string[]): ServerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: { host: { type: 'string' }, port: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) return 'help';

  const flags: Record<string, string | undefined> = { '--port': values.port, '--workers': values.workers };
  const numbers: Record<string, number> = {};
  let workersAre = '';
  for (const s of settings) {
    const fromFlag = s.flag === undefined ? undefined : flags[s.flag];
    const name = fromFlag !== undefined ? s.flag! : s.env;
    const raw = fromFlag ?? env[s.env];
    // An empty variable counts as unset; an empty flag is a mistake.
    const unset = raw === undefined || (fromFlag === undefined && raw === '');
    const auto = !unset && s.key === 'workers' && raw.trim() === 'auto';
    if (auto) numbers[s.key] = Math.min(availableParallelism(), MAX_WORKERS);
    else numbers[s.key] = unset ? s.default : parseInteger(name, raw, s.min, s.max, s.key === 'workers' ? ', or auto' : '');
    if (s.key === 'workers') workersAre = auto ? `${name}=auto (${numbers[s.key]} cores)` : `${name}=${numbers[s.key]}`;
  }
  const host = values.host ?? (env.CHAT_GRPC_HOST || '0.0.0.0');
  if (host.trim() === '' || /\s/.test(host)) {
    throw new ConfigError(`${values.host !== undefined ? '--host' : 'CHAT_GRPC_HOST'}="${host}" is not a host name or address`);
  }
  const logLevel = env.CHAT_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`CHAT_LOG_LEVEL="${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const n = (key: string) => numbers[key] as number;
  // Without a backplane each worker would hold rooms of its own, and members on
  // different workers would silently not see one another.
  if (n('workers') > 1 && !env.CHAT_NATS_URL?.trim()) {
    throw new ConfigError(
      `${workersAre} needs CHAT_NATS_URL (nats://host:port, comma-separated), so the workers share rooms through NATS; without it, run one worker (CHAT_WORKERS=1)`,
    );
  }
  const limits: Limits = {
    maxRoomLength: n('maxRoomLength'),
    maxUserIdLength: n('maxUserIdLength'),
    maxDisplayNameLength: n('maxDisplayNameLength'),
    maxContentBytes: n('maxContentBytes'),
    maxRoomsPerStream: n('maxRoomsPerStream'),
    historyEvents: n('historyEvents'),
    historyBytes: n('historyBytes'),
    maxJoinHistory: n('maxJoinHistory'),
    roomGraceMs: n('roomGraceMs'),
    queueEvents: n('queueEvents'),
    queueBytes: n('queueBytes'),
    queueHighWaterBytes: n('queueHighWaterBytes'),
    queueLowWaterBytes: n('queueLowWaterBytes'),
    stallGraceMs: n('stallGraceMs'),
    writeDeadlineMs: n('writeDeadlineMs'),
    queueBudgetBytes: n('queueBudgetBytes'),
    ratePerSecond: n('ratePerSecond'),
    rateBurst: n('rateBurst'),
    joinRatePerSecond: n('joinRatePerSecond'),
    joinBurst: n('joinBurst'),
    maxRooms: n('maxRooms'),
    maxRoomMembers: n('maxRoomMembers'),
    roomChurnPerSecond: n('roomChurnPerSecond'),
    roomChurnBurst: n('roomChurnBurst'),
    presenceCoalesceMembers: n('presenceCoalesceMembers'),
    presenceCoalesceMs: n('presenceCoalesceMs'),
    coalesceMs: n('coalesceMs'),
  };
  // A resume replays up to a whole history into the queue at once: it must fit.
  if (limits.queueEvents <= limits.historyEvents + limits.maxJoinHistory) {
    throw new ConfigError(
      `CHAT_QUEUE_EVENTS=${limits.queueEvents} must be more than CHAT_HISTORY_EVENTS + CHAT_MAX_JOIN_HISTORY (${limits.historyEvents + limits.maxJoinHistory}), so a resume fits in the queue`,
    );
  }
  if (limits.queueBytes <= 2 * limits.historyBytes) {
    throw new ConfigError(
      `CHAT_QUEUE_BYTES=${limits.queueBytes} must be more than twice CHAT_HISTORY_BYTES (${2 * limits.historyBytes}), so a resume fits in the queue`,
    );
  }
  if (limits.queueLowWaterBytes >= limits.queueHighWaterBytes || limits.queueHighWaterBytes >= limits.queueBytes) {
    throw new ConfigError(
      `CHAT_QUEUE_LOW_WATER_BYTES=${limits.queueLowWaterBytes} < CHAT_QUEUE_HIGH_WATER_BYTES=${limits.queueHighWaterBytes} < CHAT_QUEUE_BYTES=${limits.queueBytes} must hold`,
    );
  }
  if (limits.stallGraceMs >= limits.writeDeadlineMs) {
    throw new ConfigError(`CHAT_STALL_GRACE_MS=${limits.stallGraceMs} must be less than CHAT_WRITE_DEADLINE_MS=${limits.writeDeadlineMs}`);
  }
  if (limits.queueBudgetBytes < limits.queueBytes) {
    throw new ConfigError(`CHAT_QUEUE_BUDGET_BYTES=${limits.queueBudgetBytes} must be at least CHAT_QUEUE_BYTES=${limits.queueBytes} (one stream's bound)`);
  }
  const authNumbers = { authClockToleranceS: n('authClockToleranceS'), authExpiryNoticeS: n('authExpiryNoticeS'), authJwksCacheMs: n('authJwksCacheMs'), authJwksTimeoutMs: n('authJwksTimeoutMs') };
  return {
    host,
    port: n('port'),
    workers: n('workers'),
    limits,
    maxMessageBytes: n('maxMessageBytes'),
    maxSendMessageBytes: n('maxSendMessageBytes'),
    coalesceWrites: n('coalesceWrites') === 1,
    keepaliveTimeMs: n('keepaliveTimeMs'),
    keepaliveTimeoutMs: n('keepaliveTimeoutMs'),
    drainGraceMs: n('drainGraceMs'),
    logLevel,
    maxStreamsPerConnection: n('maxStreamsPerConnection'),
    maxConnectionsPerIp: n('maxConnectionsPerIp'),
    traceDeliveries: n('traceDeliveries'),
    natsServers: natsServers(env.CHAT_NATS_URL),
    natsReplicas: n('natsReplicas'),
    nodeTtlMs: n('nodeTtlMs'),
    tls: tlsFiles(env),
    ...authNumbers,
    auth: authConfig(env, authNumbers),
  };
}

/** CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE (both or neither), CHAT_TLS_CLIENT_CA_FILE, CHAT_TLS_REQUIRE_CLIENT_CERT; checked by loading them. */
function tlsFiles(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  const [certFile, keyFile, clientCaFile] = [env.CHAT_TLS_CERT_FILE, env.CHAT_TLS_KEY_FILE, env.CHAT_TLS_CLIENT_CA_FILE].map((v) => v?.trim() || undefined);
  const require = env.CHAT_TLS_REQUIRE_CLIENT_CERT?.trim() || '0';
  if (require !== '0' && require !== '1') throw new ConfigError(`CHAT_TLS_REQUIRE_CLIENT_CERT="${require}" is not allowed: expected 0 or 1`);
  if (certFile === undefined && keyFile === undefined) {
    const stray = clientCaFile !== undefined ? 'CHAT_TLS_CLIENT_CA_FILE' : require === '1' ? 'CHAT_TLS_REQUIRE_CLIENT_CERT=1' : undefined;
    if (stray) throw new ConfigError(`${stray} needs TLS: set CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE too`);
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    throw new ConfigError(`TLS needs both CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE: ${certFile === undefined ? `CHAT_TLS_KEY_FILE="${keyFile}" is set, CHAT_TLS_CERT_FILE is not` : `CHAT_TLS_CERT_FILE="${certFile}" is set, CHAT_TLS_KEY_FILE is not`}`);
  }
  if (require === '1' && clientCaFile === undefined) throw new ConfigError('CHAT_TLS_REQUIRE_CLIENT_CERT=1 needs CHAT_TLS_CLIENT_CA_FILE (the CA client certificates are checked against)');
  const files: TlsFiles = { certFile, keyFile, clientCaFile, requireClientCert: require === '1' };
  try {
    readTlsFiles(files);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return files;
}

/** The PEM contents of `files`, checked by building a TLS context from them; the Error names what cannot be read or used. */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer; ca: Buffer | undefined } {
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`${name}="${file}" cannot be read: ${(error as Error).message}`);
    }
  };
  const cert = read('CHAT_TLS_CERT_FILE', files.certFile);
  const key = read('CHAT_TLS_KEY_FILE', files.keyFile);
  const ca = files.clientCaFile === undefined ? undefined : read('CHAT_TLS_CLIENT_CA_FILE', files.clientCaFile);
  try {
    createSecureContext({ cert, key, ca });
  } catch (error) {
    const names = `CHAT_TLS_CERT_FILE="${files.certFile}", CHAT_TLS_KEY_FILE="${files.keyFile}"${ca ? `, CHAT_TLS_CLIENT_CA_FILE="${files.clientCaFile}"` : ''}`;
    throw new Error(`${names} are not a PEM certificate and its private key${ca ? ' and a PEM CA' : ''}: ${(error as Error).message}`);
  }
  return { cert, key, ca };
}

/** CHAT_NATS_URL: comma-separated nats:// URLs (or host:port); unset or empty: no backplane. */
function natsServers(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const servers = raw.split(',').map((s) => s.trim());
  for (const server of servers) {
    if (!/^((nats|tls):\/\/)?[^\s/:,]+(:\d+)?$/.test(server)) {
      throw new ConfigError(`CHAT_NATS_URL="${raw}" is not a list of NATS servers: "${server}" is not nats://host:port (for example nats://127.0.0.1:4222,nats://10.0.0.2:4222)`);
    }
  }
  return servers;
}

function parseInteger(name: string, raw: string, min: number, max: number, or = ''): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}="${raw}" is not allowed: expected a whole number from ${min} to ${max}${or}`);
  }
  return value;
}

/** The --help text: flags, then every variable with its default and meaning. */
export function usage(): string {
  const rows = settings.map((s) => `  ${s.env.padEnd(30)} ${String(s.default).padEnd(9)} ${s.doc}`);
  return [
    'Usage: npm start -- [--host HOST] [--port PORT] [--workers N|auto]',
    '',
    'Serves chat.v1 (gRPC) with rooms in memory.',
    '',
    'Flags:',
    '  --host HOST   address to listen on (CHAT_GRPC_HOST, default 0.0.0.0)',
    '  --port PORT   port to listen on (CHAT_GRPC_PORT, default 50051)',
    '  --workers N   server processes sharing the port, or auto: one per core (CHAT_WORKERS, default 1; more needs CHAT_NATS_URL)',
    '  --help        print this and exit',
    '',
    'Environment (variable, default, meaning):',
    `  ${'CHAT_GRPC_HOST'.padEnd(30)} ${'0.0.0.0'.padEnd(9)} address to listen on`,
    ...rows,
    `  ${'CHAT_LOG_LEVEL'.padEnd(30)} ${'info'.padEnd(9)} ${LOG_LEVELS.join('|')}`,
    `  ${'CHAT_NATS_URL'.padEnd(30)} ${'(none)'.padEnd(9)} NATS servers (comma-separated nats://host:port) to share rooms with other servers through JetStream`,
    `  ${'CHAT_TLS_CERT_FILE'.padEnd(30)} ${'(none)'.padEnd(9)} PEM certificate chain to serve TLS with (with CHAT_TLS_KEY_FILE; reloaded on SIGHUP)`,
    `  ${'CHAT_TLS_KEY_FILE'.padEnd(30)} ${'(none)'.padEnd(9)} PEM private key of CHAT_TLS_CERT_FILE`,
    `  ${'CHAT_TLS_CLIENT_CA_FILE'.padEnd(30)} ${'(none)'.padEnd(9)} PEM CA to verify client certificates with (mTLS): a verified one binds the stream to its subject CN`,
    `  ${'CHAT_TLS_REQUIRE_CLIENT_CERT'.padEnd(30)} ${'0'.padEnd(9)} 1: refuse connections without a client certificate from CHAT_TLS_CLIENT_CA_FILE`,
    `  ${'CHAT_AUTH_HS256_SECRET'.padEnd(30)} ${'(none)'.padEnd(9)} token auth: verify HS256 JWTs with this secret (at least 32 bytes); one key source turns auth on`,
    `  ${'CHAT_AUTH_HS256_SECRET_FILE'.padEnd(30)} ${'(none)'.padEnd(9)} token auth: the HS256 secret read from this file`,
    `  ${'CHAT_AUTH_PUBLIC_KEY_FILE'.padEnd(30)} ${'(none)'.padEnd(9)} token auth: verify RS*/PS*/ES*/EdDSA JWTs with this PEM public key or certificate`,
    `  ${'CHAT_AUTH_JWKS'.padEnd(30)} ${'(none)'.padEnd(9)} token auth: a JWK set file, or an https:// URL fetched and cached (needs CHAT_AUTH_AUDIENCE)`,
    `  ${'CHAT_AUTH_ISSUER'.padEnd(30)} ${'(none)'.padEnd(9)} token auth: required iss`,
    `  ${'CHAT_AUTH_AUDIENCE'.padEnd(30)} ${'(none)'.padEnd(9)} token auth: required aud (comma-separated: any of them)`,
    `  ${'CHAT_AUTH_NAME_CLAIM'.padEnd(30)} ${'name'.padEnd(9)} token auth: the claim holding the display name (the stream's user id is sub)`,
    '',
  ].join('\n');
}
