import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { serverKinds } from './BenchServer.js';
import type { Measurement } from './runScenario.js';

export interface ScenarioResult {
  scenario: string;
  about: string;
  /** The median run of each server. */
  runs: Measurement[];
  /** Scenarios run more than once: every run's deliveries/s, per server, in the order they ran. */
  repeats?: Record<string, number[]>;
  /** The scenario's note: what its figures can and cannot show. */
  note?: string;
}

/** Writes results.json, results.md and results.svg (a dated set) and returns the markdown path. */
export async function writeResults(dir: string, results: ScenarioResult[]): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
  writeFileSync(join(dir, `${stamp}.json`), JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2));
  writeFileSync(join(dir, `${stamp}.svg`), chart(results));
  const md = join(dir, `${stamp}.md`);
  writeFileSync(md, table(results, machine));
  return md;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ratio = (a: number, b: number) => (b > 0 && a > 0 ? `${(a / b).toFixed(2)}×` : '–');

/** The markdown report of a run: the machine, what each scenario measures and each server is, resultsTable, then every repeat's figure and the spans exported. */
export function table(results: ScenarioResult[], machine: object): string {
  const kinds = Object.entries(serverKinds).filter(([kind]) => results.some((r) => r.runs.some((m) => m.server === kind)));
  const notes: string[] = [];
  for (const r of results) {
    if (r.note) notes.push(`- ${r.scenario}: ${r.note}`);
    for (const [kind, each] of Object.entries(r.repeats ?? {})) notes.push(`- ${r.scenario}, ${kind}: deliveries/s of each run: ${each.map((n) => fmt(n)).join(', ')}`);
    for (const m of r.runs) {
      if (m.natsCpuSeconds !== undefined && m.messagesSent) notes.push(`- ${r.scenario}, ${m.server} (median run): ${natsNote(m, r.runs.find((o) => o.server === 'ours'))}`);
      if (m.spans) notes.push(`- ${r.scenario}, ${m.server} (median run): spans exported: ${Object.entries(m.spans).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${fmt(n)}`).join(', ') || 'none'}; links ${fmt(m.links ?? 0)}`);
    }
  }
  return [
    `Machine: ${JSON.stringify(machine)}`,
    '',
    ...results.map((r) => `- **${r.scenario}**: ${r.about}`),
    '',
    'Servers:',
    '',
    ...kinds.map(([kind, about]) => `- **${kind}**: ${about}`),
    '',
    "Each row is the median run (by deliveries/s) of the scenario's repeats; `A/B` rows are A's median over B's.",
    '',
    resultsTable(results),
    ...(notes.length ? [notes.join('\n'), ''] : []),
  ].join('\n');
}

/** What the backplane costs per message sent: the chat processes' CPU beyond ours', and nats-server's. */
function natsNote(m: Measurement, ours: Measurement | undefined): string {
  const perMessage = (seconds: number, messages: number) => (seconds * 1e6) / messages;
  const server = perMessage(m.serverCpuSeconds, m.messagesSent!);
  const extra = ours?.messagesSent ? `, ours ${fmt(perMessage(ours.serverCpuSeconds, ours.messagesSent))} µs: +${fmt(server - perMessage(ours.serverCpuSeconds, ours.messagesSent))} µs` : '';
  return `server CPU ${fmt(m.serverCpuSeconds, 2)} s, ${fmt(server)} µs per message sent (${fmt(m.messagesSent!)} messages${extra}); nats-server CPU ${fmt(m.natsCpuSeconds!, 2)} s, ${fmt(perMessage(m.natsCpuSeconds!, m.messagesSent!))} µs per message`;
}

/** Fields a results file may lack: those written before the bench read the server's log (pauses, cut-offs) and timed settling. */
type LaterField = 'serverCutOffs' | 'pauses' | 'settledSeconds';
/** Fields only some kinds have (the nats-* kinds), shown when a run has them. */
type KindField = 'natsCpuSeconds' | 'messagesSent';

/** A measurement as a results file holds it (older files: other server names, fewer fields). */
export type RecordedMeasurement = Omit<Measurement, 'server' | LaterField | KindField> & Partial<Pick<Measurement, LaterField | KindField>> & { server: string };

/** A scenario's measurements as a results file holds them. */
export interface RecordedResult {
  scenario: string;
  about: string;
  runs: RecordedMeasurement[];
}

/**
 * One run's table: a row per scenario and server, then each other kind of ours
 * (telemetry, NATS) against ours and ours against the baseline. A column whose
 * field no measurement of the run has (an older results file, or no nats-* kind)
 * is left out. docs/performance.md holds one per run.
 */
export function resultsTable(results: RecordedResult[]): string {
  const has = (field: LaterField | KindField) => results.some((r) => r.runs.some((m) => m[field] !== undefined));
  const backpressure = has('serverCutOffs');
  const settled = has('settledSeconds');
  const nats = has('natsCpuSeconds');
  const row = (cells: { head: string[]; backpressure?: string[]; mid: string[]; settled?: string; nats?: string }) =>
    `| ${[...cells.head, ...(backpressure ? (cells.backpressure ?? ['', '']) : []), ...cells.mid, ...(settled ? [cells.settled ?? ''] : []), ...(nats ? [cells.nats ?? ''] : [])].join(' | ')} |`.replace(/(?<=\|) {2}(?=\|)/g, ' ');
  const columns = row({
    head: ['scenario', 'server', 'deliveries/s', 'missing', 'out of order', 'seq gaps'],
    backpressure: ['cut off', 'pauses'],
    mid: ['p50 ms', 'p99 ms', 'max ms', 'server CPU µs/delivery', 'server RSS MB', 'KB/stream', 'seconds'],
    settled: 'settled s',
    nats: 'nats-server CPU µs/message',
  });
  const lines = [columns, columns.replace(/[^|]+/g, '---')];
  const natsPerMessage = (m: RecordedMeasurement) => (m.natsCpuSeconds !== undefined && m.messagesSent ? (m.natsCpuSeconds * 1e6) / m.messagesSent : undefined);
  const ratios = (r: RecordedResult, name: string, a: RecordedMeasurement, b: RecordedMeasurement, settledRatio?: string) =>
    row({
      head: [r.scenario, name, ratio(a.deliveriesPerSecond, b.deliveriesPerSecond), '', '', ''],
      mid: [ratio(a.latencyMs.p50, b.latencyMs.p50), ratio(a.latencyMs.p99, b.latencyMs.p99), '', ratio(a.serverCpuUsPerDelivery, b.serverCpuUsPerDelivery), ratio(a.serverRssMB, b.serverRssMB), ratio(a.rssPerStreamKB, b.rssPerStreamKB), ratio(a.seconds, b.seconds)],
      settled: settledRatio,
    });
  for (const r of results) {
    for (const m of r.runs) {
      const ours = m.server !== 'baseline';
      lines.push(
        row({
          head: [r.scenario, `${m.server}${m.complete ? '' : ' (incomplete)'}`, fmt(m.deliveriesPerSecond), `${m.missing}`, `${m.outOfOrder}`, `${m.seqGaps}`],
          backpressure: [ours ? `${m.serverCutOffs}` : '–', ours ? `${m.pauses}` : '–'],
          mid: [fmt(m.latencyMs.p50, 1), fmt(m.latencyMs.p99, 1), fmt(m.latencyMs.max, 1), fmt(m.serverCpuUsPerDelivery, 2), fmt(m.serverRssMB), fmt(m.rssPerStreamKB, 1), fmt(m.seconds, 2)],
          settled: m.settledSeconds ? fmt(m.settledSeconds, 2) : '',
          nats: natsPerMessage(m) === undefined ? '–' : fmt(natsPerMessage(m)!),
        }),
      );
    }
    const ours = r.runs.find((m) => m.server === 'ours');
    const base = r.runs.find((m) => m.server === 'baseline');
    for (const other of r.runs.filter((m) => m.server !== 'ours' && m.server !== 'baseline')) {
      if (!ours) break;
      lines.push(ratios(r, `${other.server}/ours`, other, ours));
    }
    if (ours && base) {
      lines.push(ratios(r, 'ours/baseline', ours, base, base.complete && ours.settledSeconds && base.settledSeconds ? ratio(ours.settledSeconds, base.settledSeconds) : ''));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Two bar charts side by side: deliveries/s and p99 latency, a bar per server, per scenario. */
export function chart(results: ScenarioResult[]): string {
  const rows = results.filter((r) => r.runs.some((m) => m.deliveriesPerSecond > 0));
  const W = 900;
  const rowH = Math.max(34, 8 + 13 * Math.max(0, ...rows.map((r) => r.runs.length)));
  const H = 60 + rows.length * rowH;
  const panel = (x0: number, title: string, value: (m: Measurement) => number, unit: string) => {
    const max = Math.max(1, ...rows.flatMap((r) => r.runs.map(value)));
    const width = 280;
    const out = [`<text x="${x0}" y="20" font-weight="bold">${title}</text>`];
    rows.forEach((r, i) => {
      const y = 40 + i * rowH;
      r.runs.forEach((m, j) => {
        const w = (value(m) / max) * width;
        const color = m.server === 'ours' ? '#2b7bb9' : m.server.startsWith('ours+otel') ? '#7fb3d9' : m.server.startsWith('nats-') ? '#e0913a' : '#b0b0b0';
        out.push(`<rect x="${x0}" y="${y + j * 13}" width="${w.toFixed(1)}" height="11" fill="${color}"/>`);
        out.push(`<text x="${x0 + w + 4}" y="${y + j * 13 + 10}" font-size="10">${fmt(value(m), unit === 'ms' ? 1 : 0)} ${unit}</text>`);
      });
    });
    return out.join('\n');
  };
  const labels = rows.map((r, i) => `<text x="10" y="${40 + i * rowH + 16}" font-size="12">${r.scenario}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${labels}
${panel(150, 'deliveries/s (blue: ours, orange: on NATS, grey: baseline)', (m) => m.deliveriesPerSecond, '/s')}
${panel(540, 'p99 latency', (m) => m.latencyMs.p99, 'ms')}
</svg>
`;
}
