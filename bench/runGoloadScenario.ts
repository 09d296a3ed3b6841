import { BenchServer, type ServerKind } from './BenchServer.js';
import * as goload from './goload.js';
import { type Measurement, withServerReport } from './runScenario.js';
import type { Scenario } from './scenarios.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a scenario whose load is the Go load generator (scenario.goload) against one server, in a fresh process. */
export async function runGoloadScenario(scenario: Scenario, kind: ServerKind, serverEnv: Record<string, string> = {}): Promise<Measurement> {
  const binary = await goload.build();
  const server = await BenchServer.start(kind, serverEnv);
  const address = `127.0.0.1:${server.port}`;
  let measured: Measurement;
  try {
    const before = server.memory();
    if (scenario.kind === 'joinStorm') {
      let settledRss = Infinity;
      const cpu0 = server.cpuSeconds();
      const storm = await goload.runStorm(binary, address, scenario.goload!.args, {
        serverPid: server.child.pid!,
        timeoutMs: scenario.timeoutMs,
        // With every member still joined and everything read: the server at rest.
        whenSettled: async () => {
          for (let i = 0; i < 10; i++) {
            settledRss = Math.min(settledRss, server.memory().rss);
            await sleep(500);
          }
        },
      });
      const cpu = server.cpuSeconds() - cpu0;
      const n = scenario.members;
      // Ours announces each join to everyone there, the joiner included; the baseline leaves the joiner out.
      const expected = kind === 'baseline' ? (n * (n - 1)) / 2 : (n * (n + 1)) / 2;
      measured = {
        ...empty(kind, expected),
        complete: storm !== undefined && storm.notices === expected,
        seconds: storm?.joinSeconds ?? scenario.timeoutMs / 1000,
        settledSeconds: storm?.settledSeconds ?? 0,
        deliveries: storm?.notices ?? 0,
        missing: expected - (storm?.notices ?? 0),
        serverCpuSeconds: cpu,
        serverCpuUsPerDelivery: storm ? (cpu * 1e6) / Math.max(1, storm.notices) : 0,
        serverRssMB: (Number.isFinite(settledRss) ? settledRss : server.memory().rss) / 2 ** 20,
        serverPeakRssMB: server.memory().peak / 2 ** 20,
        rssPerStreamKB: ((Number.isFinite(settledRss) ? settledRss : server.memory().rss) - before.rss) / 1024 / n,
      };
    } else {
      const { args, warmup } = scenario.goload!;
      if (warmup) await goload.runBench(binary, address, warmup, scenario.timeoutMs);
      const cpu0 = server.cpuSeconds();
      const report = await goload.runBench(binary, address, args, scenario.timeoutMs);
      const cpu = server.cpuSeconds() - cpu0;
      const mem = server.memory();
      measured = {
        ...empty(kind, report.expected),
        complete: report.delivered === report.expected && report.echoes === report.echoesExpected,
        seconds: report.seconds,
        deliveries: report.delivered,
        deliveriesPerSecond: report.deliveriesPerSecond,
        // Lost deliveries at the subscribers, and of the senders' own copies.
        missing: report.expected - report.delivered + (report.echoesExpected - report.echoes),
        outOfOrder: report.reorders,
        latencyMs: report.latencyMs,
        // The server's CPU over the whole run (joins and settling included) per subscriber delivery.
        serverCpuSeconds: cpu,
        serverCpuUsPerDelivery: report.delivered > 0 ? (cpu * 1e6) / report.delivered : 0,
        serverRssMB: mem.rss / 2 ** 20,
        serverPeakRssMB: mem.peak / 2 ** 20,
        rssPerStreamKB: (mem.rss - before.rss) / 1024 / scenario.members,
      };
    }
  } finally {
    await server.stop();
  }
  return withServerReport(measured, server);
}

function empty(server: ServerKind, expected: number): Measurement {
  return {
    server,
    complete: false,
    seconds: 0,
    deliveries: 0,
    expected,
    deliveriesPerSecond: 0,
    missing: 0,
    outOfOrder: 0,
    seqGaps: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
    serverCpuUsPerDelivery: 0,
    serverCpuSeconds: 0,
    serverRssMB: 0,
    serverPeakRssMB: 0,
    rssPerStreamKB: 0,
    churnRounds: 0,
    cutOff: [],
    serverCutOffs: 0,
    pauses: 0,
    settledSeconds: 0,
  };
}
