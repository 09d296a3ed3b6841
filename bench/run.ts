/**
 * `npm run bench [-- --only NAME[,NAME]] [--server KIND[,KIND]] [--out DIR]`:
 * runs every scenario against our server and the baseline (and, for scenarios
 * that measure telemetry, ours+otel and ours+otel-ratio; a scenario may name its
 * own servers, as fanout-cluster the nats-* kinds: see serverKinds), each
 * in fresh processes, and writes JSON, a markdown table and an SVG chart to bench/results/
 * (and that run's table into docs/performance.md).
 */
import { parseArgs } from 'node:util';
import { runScenario, type Measurement } from './runScenario.js';
import { scenarios } from './scenarios.js';
import { type ScenarioResult, writeResults } from './writeResults.js';
import { writeDocsTables } from '../scripts/docsTables.js';
import { type ServerKind, serverKinds } from './BenchServer.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    server: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const only = values.only?.split(',');
const unknown = values.server?.split(',').filter((k) => !(k in serverKinds));
if (unknown?.length) throw new Error(`--server ${unknown.join(',')}: not one of ${Object.keys(serverKinds).join(', ')}`);

const results: ScenarioResult[] = [];
for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
  const runs: Measurement[] = [];
  const kinds: ServerKind[] = values.server
    ? (values.server.split(',') as ServerKind[])
    : (scenario.servers ?? ['ours', 'baseline', ...(scenario.telemetry ? (['ours+otel', 'ours+otel-ratio'] as const) : [])]);
  // Repeats go round the servers in turn, so a slow spell of the machine does not fall on one server's runs.
  const tries = new Map<ServerKind, Measurement[]>(kinds.map((k) => [k, []]));
  for (let i = 0; i < scenario.repeat; i++) {
    for (const kind of kinds) {
      if (kind === 'baseline' && i >= (scenario.baselineRepeat ?? scenario.repeat)) continue;
      process.stderr.write(`${scenario.name} on ${kind}${scenario.repeat > 1 ? ` (${i + 1}/${scenario.repeat})` : ''}... `);
      const t = await runScenario(scenario, kind);
      tries.get(kind)!.push(t);
      process.stderr.write(
        `${Math.round(t.deliveriesPerSecond)}/s in ${t.seconds.toFixed(2)} s${t.settledSeconds ? ` (settled ${t.settledSeconds.toFixed(2)} s)` : ''}, missing ${t.missing}, out of order ${t.outOfOrder}, seq gaps ${t.seqGaps}, p99 ${t.latencyMs.p99.toFixed(1)} ms, cpu ${t.serverCpuUsPerDelivery.toFixed(2)} µs/delivery, rss ${t.serverRssMB.toFixed(0)} MB (${t.rssPerStreamKB.toFixed(1)} KB/stream), cut off ${t.serverCutOffs}, pauses ${t.pauses}${t.natsCpuSeconds === undefined ? '' : `, nats-server cpu ${t.natsCpuSeconds.toFixed(2)} s`}${t.complete ? '' : ' INCOMPLETE'}\n`,
      );
    }
  }
  for (const kind of kinds) runs.push(median(tries.get(kind)!, scenario.kind));
  const repeats = scenario.repeat > 1 && scenario.kind === 'messages' ? Object.fromEntries(kinds.map((k) => [k, tries.get(k)!.map((m) => Math.round(m.deliveriesPerSecond))])) : undefined;
  results.push({ scenario: scenario.name, about: scenario.about, runs, ...(repeats && { repeats }), ...(scenario.note && { note: scenario.note }) });
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
