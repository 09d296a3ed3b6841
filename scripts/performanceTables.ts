/**
 * docs/performance.md's generated parts: the scenarios, and one table per bench
 * run (bench/results/*.json), newest first, each made by the bench's own
 * resultsTable, so a new run's file is picked up as it is. `npm run docs:tables`
 * writes them in (scripts/docsTables.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarios } from '../bench/scenarios.js';
import { type RecordedResult, resultsTable } from '../bench/writeResults.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = 'bench/results';

/** One results file as the bench writes it. */
interface RecordedRun {
  date: string;
  machine: { cpus: number; cpu: string; memoryGB: number; node: string };
  results: RecordedResult[];
}

/**
 * Runs recorded under the kinds' earlier names. Before 2026-11-27-04-21,
 * `ours+otel` traced every message and `ours+otel-1%` kept 1 trace in 100; from
 * then until issue 12, `ours+otel` kept 1 in 100 (the server's own default
 * sampler then) and `ours+otel-all` traced every message. Now `ours+otel` runs
 * OpenTelemetry's default sampler, which traces every message, and
 * `ours+otel-ratio` keeps 1 in 100. The tables use the present names, so that
 * each name means one thing throughout.
 */
const EARLIER_NAMES: Record<string, Record<string, string>> = Object.fromEntries([
  ...['2026-11-27-04-04', '2026-11-27-04-13'].map((run) => [run, { 'ours+otel-1%': 'ours+otel-ratio' }]),
  ...['2026-11-27-04-21', '2026-11-27-04-27', '2026-12-02-07-46', '2026-12-02-08-07'].map((run) => [run, { 'ours+otel': 'ours+otel-ratio', 'ours+otel-all': 'ours+otel' }]),
]);

/** The run names in bench/results (file names without .json), newest first. */
export function benchRuns(): string[] {
  return readdirSync(join(root, RESULTS))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort()
    .reverse();
}

/** What each scenario measures, as bench/scenarios.ts says. */
export function scenarioList(): string {
  return `${scenarios.map((s) => `- **${s.name}**: ${s.about}`).join('\n')}\n`;
}

/** Every run's section: its heading, where its files are, scenarios it described otherwise than today, and its table. */
export function performanceTables(): string {
  return benchRuns().map(runSection).join('\n');
}

function runSection(run: string): string {
  const recorded = JSON.parse(readFileSync(join(root, RESULTS, `${run}.json`), 'utf8')) as RecordedRun;
  const names = EARLIER_NAMES[run] ?? {};
  const results = recorded.results.map((r) => ({ ...r, runs: r.runs.map((m) => ({ ...m, server: names[m.server] ?? m.server })) }));
  const { cpus, cpu, memoryGB, node } = recorded.machine;
  const files = [`[${run}.json](../${RESULTS}/${run}.json)`];
  if (existsSync(join(root, RESULTS, `${run}.md`))) files.push(`[report](../${RESULTS}/${run}.md)`);
  if (existsSync(join(root, RESULTS, `${run}.svg`))) files.push(`[chart](../${RESULTS}/${run}.svg)`);
  const lines = [`### ${run}`, '', `${files.join(', ')}; ${cpus} cores (${cpu}), ${memoryGB} GB, Node ${node.replace(/^v/, '')}.`];
  const renamed = Object.entries(names).map(([was, now]) => `its \`${was}\` is \`${now}\``);
  if (renamed.length > 0) lines.push(`Recorded under the kinds' earlier names, shown here by their present ones: ${renamed.join(', ')}.`);
  // Scenarios are described once (docs/performance.md); a run that measured one otherwise says how.
  const today = new Map(scenarios.map((s) => [s.name, s.about]));
  const different = results.filter((r) => today.get(r.scenario) !== r.about);
  if (different.length > 0) lines.push('', 'In this run:', ...different.map((r) => `- **${r.scenario}**: ${r.about}`));
  lines.push('', resultsTable(results));
  return lines.join('\n');
}
