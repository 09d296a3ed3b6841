/**
 * The tables in docs/ that are made from code, each between an opening
 * `<!-- NAME: … -->` line and `<!-- /NAME -->`: the settings (src/server/settings.ts),
 * the special characters (src/lib/specialCharacters.ts)
 * and the bench's scenarios and runs (bench/scenarios.ts, bench/results/*.json). `npm run docs:tables` writes them;
 * test/e2e/docs.test.ts fails when one differs from what it would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performanceTables, scenarioList } from './performanceTables.js';
import { refusedCharactersTable } from './refusedCharactersTable.js';
import { settingsTable } from './settingsTable.js';

const root = fileURLToPath(new URL('../', import.meta.url));

/** A generated region: its marker name, the file it is in, and what it holds. */
export interface GeneratedRegion {
  name: string;
  file: string;
  make(): string;
}

export const regions: GeneratedRegion[] = [
  { name: 'settings-table', file: 'docs/protocol.md', make: () => `${settingsTable()}\n` },
  { name: 'refused-characters', file: 'docs/protocol.md', make: () => `${refusedCharactersTable()}\n` },
  { name: 'bench-scenarios', file: 'docs/performance.md', make: scenarioList },
  { name: 'bench-tables', file: 'docs/performance.md', make: performanceTables },
];

/** Where a region's content starts and ends in `text` (after its opening line, before its closing marker). */
function bounds(text: string, { name, file }: GeneratedRegion): [number, number] {
  const open = text.indexOf(`<!-- ${name}:`);
  const close = text.indexOf(`<!-- /${name} -->`);
  if (open < 0 || close < open) throw new Error(`${file} has no <!-- ${name}: … --> … <!-- /${name} --> region`);
  return [text.indexOf('\n', open) + 1, close];
}

/** What the region holds now. */
export function current(region: GeneratedRegion): string {
  const text = readFileSync(join(root, region.file), 'utf8');
  const [start, end] = bounds(text, region);
  return text.slice(start, end);
}

/** Writes every region anew; returns the files that changed. */
export function writeDocsTables(): string[] {
  const changed = regions.filter((region) => {
    const path = join(root, region.file);
    const text = readFileSync(path, 'utf8');
    const [start, end] = bounds(text, region);
    const next = `${text.slice(0, start)}${region.make()}${text.slice(end)}`;
    if (next !== text) writeFileSync(path, next);
    return next !== text;
  });
  return [...new Set(changed.map((region) => region.file))];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const changed = writeDocsTables();
  console.log(changed.length > 0 ? `rewrote ${changed.join(', ')}` : 'docs tables are up to date');
}
