import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** What chat-tui was asked to do. */
export interface TuiOptions {
  server: string;
  name?: string;
  user?: string;
  rooms: string[];
  history: number;
  plain: boolean;
  /** Send traces and metrics over OTLP (to OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318). */
  otel: boolean;
}

export const USAGE = `Usage: chat-tui [options]

A terminal client for a chat-grpc server (chat.v1).

Options:
  --server HOST:PORT  the server (default: CHAT_GRPC_HOST:CHAT_GRPC_PORT, else localhost:50051)
  --name NAME         your display name (asked for when missing)
  --user ID           your user id (default: made from the name)
  --room ROOM         a room to join; repeat for more (default: general)
  --history N         recent messages to show on joining (default 50)
  --plain             line mode: one line per event, stdin lines are messages
                      or /commands (also whenever stdout is not a terminal)
  --otel              send traces and metrics over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
                      (else http://localhost:4318); the OTEL_* variables alone do too
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
  const server = values.server ?? `${env.CHAT_GRPC_HOST || 'localhost'}:${env.CHAT_GRPC_PORT || '50051'}`;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/.test(server)) throw new UsageError(`--server must be HOST:PORT, not "${server}"`);
  return { server, name: values.name, user: values.user, rooms: values.room ?? [], history, plain: values.plain, otel: values.otel };
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
