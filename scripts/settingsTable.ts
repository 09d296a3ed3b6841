/**
 * README's configuration table, made from src/server/settings.ts.
 * `npx tsx scripts/settingsTable.ts` prints it; `--write` puts it into README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { settings } from '../src/server/settings.js';

export function settingsTable(): string {
  const rows = [
    '| variable | default | meaning |',
    '|---|---|---|',
    '| `CHAT_GRPC_HOST` (`--host`) | `0.0.0.0` | address to listen on |',
    ...settings.map((s) => `| \`${s.env}\`${s.key === 'port' ? ' (`--port`)' : ''} | \`${s.default}\` | ${s.doc} (${s.min}–${s.max}) |`),
    '| `CHAT_LOG_LEVEL` | `info` | pino level: fatal, error, warn, info, debug, trace, silent |',
  ];
  return rows.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('| variable |');
    const end = readme.indexOf('<!-- /settings-table -->');
    writeFileSync('README.md', `${readme.slice(0, start)}${settingsTable()}\n${readme.slice(end)}`);
  } else console.log(settingsTable());
}
