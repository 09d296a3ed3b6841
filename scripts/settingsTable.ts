/**
 * The settings table of docs/protocol.md, made from src/server/settings.ts.
 * `npx tsx scripts/settingsTable.ts` prints it; `npm run docs:tables` writes it
 * into docs/protocol.md (scripts/docsTables.ts).
 */
import { settings } from '../src/server/settings.js';

export function settingsTable(): string {
  const rows = [
    '| variable | default | meaning |',
    '|---|---|---|',
    '| `CHAT_GRPC_HOST` (`--host`) | `0.0.0.0` | address to listen on |',
    ...settings.map((s) => `| \`${s.env}\`${s.flag ? ` (\`${s.flag}\`)` : ''} | \`${s.default}\` | ${s.doc} (${s.min}–${s.max}) |`),
    '| `CHAT_LOG_LEVEL` | `info` | pino level: fatal, error, warn, info, debug, trace, silent |',
  ];
  return rows.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(settingsTable());
