/**
 * `npm run bench [-- --only NAME[,NAME]] [--server ours|baseline] [--out DIR]`:
 * runs every scenario against our server and the baseline, each in fresh
 * processes, and writes JSON, a markdown table and an SVG chart to bench/results/.
 */
import { parseArgs } from 'node:util';
import { runScenario, type Measurement } from './runScenario.js';
import { scenarios } from './scenarios.js';
import { writeResults } from './writeResults.js';
import type { ServerKind } from './BenchServer.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    server: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const only = values.only?.split(',');
const kinds: ServerKind[] = values.server ? [values.server as ServerKind] : ['ours', 'baseline'];

const results: Array<{ scenario: string; about: string; runs: Measurement[] }> = [];
for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
  const runs: Measurement[] = [];
  for (const kind of kinds) {
    process.stderr.write(`${scenario.name} on ${kind}... `);
    const m = await runScenario(scenario, kind);
    runs.push(m);
    process.stderr.write(
      `${Math.round(m.deliveriesPerSecond)}/s in ${m.seconds.toFixed(2)} s, missing ${m.missing}, out of order ${m.outOfOrder}, p99 ${m.latencyMs.p99.toFixed(1)} ms, cpu ${m.serverCpuUsPerDelivery.toFixed(2)} µs/delivery, rss ${m.serverRssMB.toFixed(0)} MB (${m.rssPerStreamKB.toFixed(1)} KB/stream)${m.complete ? '' : ' INCOMPLETE'}\n`,
    );
  }
  results.push({ scenario: scenario.name, about: scenario.about, runs });
}
const file = await writeResults(values.out!, results);
process.stderr.write(`results: ${file}\n`);
