/**
 * `npm run bench [-- --only NAME[,NAME]] [--server ours|baseline|ours+otel|ours+otel-all] [--out DIR]`:
 * runs every scenario against our server and the baseline, each in fresh
 * processes, and writes JSON, a markdown table and an SVG chart to bench/results/
 * (and that run's table into docs/performance.md).
 */
import { parseArgs } from 'node:util';
import { runScenario, type Measurement } from './runScenario.js';
import { scenarios } from './scenarios.js';
import { writeResults } from './writeResults.js';
import { writeDocsTables } from '../scripts/docsTables.js';
import type { ServerKind } from './BenchServer.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    server: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const only = values.only?.split(',');

const results: Array<{ scenario: string; about: string; runs: Measurement[] }> = [];
for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
  const runs: Measurement[] = [];
  const kinds: ServerKind[] = values.server ? [values.server as ServerKind] : ['ours', 'baseline', ...(scenario.telemetry ? (['ours+otel', 'ours+otel-all'] as const) : [])];
  // Repeats go round the servers in turn, so a slow spell of the machine does not fall on one server's runs.
  const tries = new Map<ServerKind, Measurement[]>(kinds.map((k) => [k, []]));
  for (let i = 0; i < scenario.repeat; i++) {
    for (const kind of kinds) {
      if (kind === 'baseline' && i >= (scenario.baselineRepeat ?? scenario.repeat)) continue;
      process.stderr.write(`${scenario.name} on ${kind}${scenario.repeat > 1 ? ` (${i + 1}/${scenario.repeat})` : ''}... `);
      const t = await runScenario(scenario, kind);
      tries.get(kind)!.push(t);
      process.stderr.write(
        `${Math.round(t.deliveriesPerSecond)}/s in ${t.seconds.toFixed(2)} s${t.settledSeconds ? ` (settled ${t.settledSeconds.toFixed(2)} s)` : ''}, missing ${t.missing}, out of order ${t.outOfOrder}, p99 ${t.latencyMs.p99.toFixed(1)} ms, cpu ${t.serverCpuUsPerDelivery.toFixed(2)} µs/delivery, rss ${t.serverRssMB.toFixed(0)} MB (${t.rssPerStreamKB.toFixed(1)} KB/stream), cut off ${t.serverCutOffs}, pauses ${t.pauses}${t.complete ? '' : ' INCOMPLETE'}\n`,
      );
    }
  }
  for (const kind of kinds) runs.push(median(tries.get(kind)!, scenario.kind));
  results.push({ scenario: scenario.name, about: scenario.about, runs });
}
const file = await writeResults(values.out!, results);

/** The middle run: by throughput, or by time (join storm) or memory (idle). */
function median(tries: Measurement[], kind: string): Measurement {
  const key = (m: Measurement) => (kind === 'joinStorm' ? -m.seconds : kind === 'idle' ? -m.rssPerStreamKB : m.deliveriesPerSecond);
  return [...tries].sort((a, b) => key(a) - key(b))[Math.floor(tries.length / 2)]!;
}
process.stderr.write(`results: ${file}\n`);
// docs/performance.md shows every run in bench/results: give it this one's table too.
if (values.out === 'bench/results') process.stderr.write(`${writeDocsTables().join(', ') || 'docs tables unchanged'}\n`);
