import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Addresses } from '../client/Addresses.js';
import { type ClientTls, readClientTls } from '../client/ClientTls.js';
import type { TokenSource } from '../client/TokenSource.js';

/** What chat-tui was asked to do. */
export interface TuiOptions {
  /** The servers, host:port each, in the order they are tried. */
  servers: string[];
  name?: string;
  user?: string;
  rooms: string[];
  history: number;
  plain: boolean;
  /** Send traces and metrics over OTLP (to OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318). */
  otel: boolean;
  /** Connect over TLS with this CA and client certificate (--tls, --ca, --cert, --key); none: plaintext. */
  tls?: ClientTls;
  /** For a server with auth on: --token, --token-file (read again for each call and refresh) or CHAT_TOKEN. */
  token?: TokenSource;
}

export const USAGE = `Usage: chat-tui [options]

A terminal client for a chat-grpc server (chat.v1).

Options:
  --server HOST:PORT  the server (default: CHAT_GRPC_HOST:CHAT_GRPC_PORT, else localhost:50051);
                      several separated by commas (a:50051,b:50051): it starts on the
                      first, and each reconnect tries the next; only a full round of
                      failures waits a backoff. CHAT_GRPC_HOST takes a list too (a,b:6000):
                      hosts without a port get CHAT_GRPC_PORT
  --name NAME         your display name (asked for when missing)
  --user ID           your user id (default: made from the name)
  --room ROOM         a room to join; repeat for more (default: general)
  --history N         recent messages to show on joining (default 50)
  --plain             line mode: one line per event, stdin lines are messages
                      or /commands (also whenever stdout is not a terminal)
  --tls               connect over TLS, trusting the system's CAs
  --ca FILE           ...or the CA in this PEM file (implies --tls)
  --cert FILE         a client certificate (PEM) for a server that asks for one (mTLS;
  --key FILE          the server takes your user id from its CN, and so does --user's
                      default); both, with --tls
  --otel              send traces and metrics over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
                      (else http://localhost:4318); the OTEL_* variables alone do too
  --token JWT         for a server with auth on: the token sent with every call (also
                      CHAT_TOKEN, which keeps it out of the process list); your user
                      id and name then come from its sub and name claims
  --token-file PATH   the token read from this file, again before it expires: whatever
                      rewrites the file with a new token keeps the session alive
  --help              this text
  --version           the version

Keys: Enter send · Tab/Shift+Tab or Ctrl+N/Ctrl+P switch rooms · Up/Down input
history · PgUp/PgDn scroll · Ctrl+C quit. Commands: /join /leave /rooms /who /help /quit.`;

/** Thrown for flags chat-tui cannot use; the message says what is wrong. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Reads flags and environment; `help`/`version` when those were asked for. */
export function parseTuiArgs(argv: string[], env: NodeJS.ProcessEnv): TuiOptions | 'help' | 'version' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        name: { type: 'string' },
        user: { type: 'string' },
        room: { type: 'string', multiple: true },
        history: { type: 'string' },
        plain: { type: 'boolean', default: false },
        otel: { type: 'boolean', default: false },
        tls: { type: 'boolean', default: false },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const history = values.history === undefined ? 50 : Number(values.history);
  if (!Number.isInteger(history) || history < 0 || history > 1000) throw new UsageError(`--history must be a whole number from 0 to 1000, not "${values.history}"`);
  const servers = serversFrom(values.server, env);
  const tls = tlsFrom(values);
  // The server takes the user from the certificate's CN: by default, so does chat-tui.
  const user = values.user ?? (tls?.cert && commonName(tls.cert));
  const token = tokenFrom(values.token, values['token-file'], env);
  return { servers, name: values.name, user, rooms: values.room ?? [], history, plain: values.plain, otel: values.otel, token, ...(tls && { tls }) };
}

/** --tls, --ca, --cert, --key: read now, so a file that cannot be read stops chat-tui at once. */
function tlsFrom({ tls, ca, cert, key }: { tls: boolean; ca?: string; cert?: string; key?: string }): ClientTls | undefined {
  if (!tls && ca === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together (a client certificate and its private key)');
  try {
    return readClientTls({ caFile: ca, certFile: cert, keyFile: key });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** --token, else --token-file (read now, to fail early, and at each use), else CHAT_TOKEN. */
function tokenFrom(flag: string | undefined, file: string | undefined, env: NodeJS.ProcessEnv): TokenSource | undefined {
  if (flag !== undefined && file !== undefined) throw new UsageError('--token and --token-file are both given: use one');
  if (flag !== undefined) {
    if (flag.trim() === '') throw new UsageError('--token is empty');
    return flag.trim();
  }
  if (file !== undefined) {
    const read = () => {
      const token = readFileSync(file, 'utf8').trim();
      if (token === '') throw new Error(`${file} is empty`);
      return token;
    };
    try {
      read();
    } catch (error) {
      throw new UsageError(`--token-file: ${(error as Error).message}`);
    }
    return read;
  }
  return env.CHAT_TOKEN?.trim() || undefined;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/;

/** --server's list, else CHAT_GRPC_HOST's (each host without a port gets CHAT_GRPC_PORT), else localhost:50051. */
function serversFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string[] {
  let servers: string[];
  try {
    const port = env.CHAT_GRPC_PORT || '50051';
    servers = flag !== undefined ? Addresses.parse(flag) : Addresses.parse(env.CHAT_GRPC_HOST || 'localhost').map((host) => (HOST_PORT.test(host) ? host : `${host}:${port}`));
  } catch (error) {
    throw new UsageError(`${flag !== undefined ? '--server' : 'CHAT_GRPC_HOST'}: ${(error as Error).message}`);
  }
  const bad = servers.find((server) => !HOST_PORT.test(server));
  if (bad !== undefined) throw new UsageError(`--server must be HOST:PORT, not "${bad}"`);
  return servers;
}

/** The subject CN of a PEM certificate, if it has one (and it parses). */
function commonName(pem: Buffer): string | undefined {
  try {
    return /^CN=(.+)$/m.exec(new X509Certificate(pem).subject)?.[1];
  } catch {
    return undefined;
  }
}

/** A user id from a display name: lower case, letters, digits, dot, dash and underscore. */
export function userIdFrom(name: string): string {
  const id = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|-+$/g, '')
    .slice(0, 32);
  return id || 'guest';
}

/** This package's version. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
