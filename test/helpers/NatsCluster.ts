import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from './NatsServer.js';
import { waitFor } from './waitFor.js';

/** Cluster dirs not yet removed, removed if the test process exits without stop() (NatsServer kills the nodes). */
const leftRoots = new Set<string>();
process.once('exit', () => {
  for (const root of leftRoots) rmSync(root, { recursive: true, force: true });
});

/** What `/jsz?accounts=true&streams=true` says, the part the cluster reads. */
interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }>;
}

/** One node: its server while it runs, and what a restart needs to come back as the same node. */
interface Node {
  name: string;
  server: NatsServer | undefined;
  dir: string;
  clusterPort: number;
  port?: number;
  httpPort?: number;
}

/**
 * A JetStream cluster of real nats-server processes on 127.0.0.1, nodes named
 * n1..nN, each with its own store, routes to all the others.
 */
export class NatsCluster {
  private constructor(
    private readonly root: string,
    private readonly members: Node[],
  ) {}

  /**
   * Starts `size` nodes and resolves once a meta leader is elected and JetStream
   * answers on every node. Route ports have to be known before any node starts
   * (each node's `--routes` names them all; 2.9 refuses a JetStream cluster
   * without routes), so they are reserved on 127.0.0.1:0 and released: if
   * another process takes one in between, the whole cluster is started again.
   */
  static async start(size = 3, { timeoutMs = 20_000 }: { timeoutMs?: number } = {}): Promise<NatsCluster> {
    for (let attempt = 1; ; attempt++) {
      const root = mkdtempSync(join(tmpdir(), 'nats-cluster-'));
      leftRoots.add(root);
      const ports = await freePorts(size);
      const cluster = new NatsCluster(
        root,
        ports.map((clusterPort, i) => ({ name: `n${i + 1}`, server: undefined, dir: join(root, `n${i + 1}`), clusterPort })),
      );
      // Concurrently: a node's JetStream is not ready until its peers are up. All
      // settled before stopping, so no node is still starting when the dir goes.
      const launched = await Promise.allSettled(cluster.members.map((node) => cluster.launch(node, timeoutMs)));
      const failed = launched.find((result) => result.status === 'rejected');
      if (!failed) return cluster;
      await cluster.stop();
      const taken = String(failed.reason).includes('address already in use');
      if (!taken || attempt === 3) throw failed.reason;
    }
  }

  /** Each node's server, n1..nN: a killed node's has `exit` set until restart() replaces it. */
  get nodes(): NatsServer[] {
    return this.members.map((node) => node.server!);
  }

  /** Every node's client URL, running or not: what a client connects with to ride out failovers. */
  get urlList(): string[] {
    return this.members.map((node) => node.server?.url ?? `nats://127.0.0.1:${node.port}`);
  }

  /** urlList joined with commas, the form a NATS_URL-like setting takes. */
  get urls(): string {
    return this.urlList.join(',');
  }

  /** The node's name (n1..nN) of a server of this cluster. */
  nameOf(server: NatsServer): string {
    return this.member(server).name;
  }

  /** The node that is the JetStream meta leader, once the running nodes agree on a running one. */
  async leader(timeoutMs = 15_000): Promise<NatsServer> {
    return this.agreed((jsz) => jsz.meta_cluster?.leader, 'the JetStream meta leader', timeoutMs);
  }

  /** The node leading this stream's raft group, once the running nodes agree on a running one. */
  async streamLeader(stream: string, timeoutMs = 15_000): Promise<NatsServer> {
    return this.agreed(
      (jsz) =>
        jsz.account_details?.flatMap((account) => account.stream_detail ?? []).find((s) => s.name === stream)?.cluster
          ?.leader,
      `the leader of stream ${stream}`,
      timeoutMs,
    );
  }

  /** Sends `signal` to a node (a server, or its index in node order n1..nN) and waits for it to exit. */
  async kill(node: NatsServer | number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.member(node).server?.kill(signal);
  }

  /**
   * Starts a killed node again (a running one is SIGKILLed first) with its ports,
   * name and store, and resolves once it is healthy and knows the meta leader.
   */
  async restart(node: NatsServer | number, timeoutMs = 20_000): Promise<NatsServer> {
    const member = this.member(node);
    await member.server?.kill('SIGKILL');
    return this.launch(member, timeoutMs);
  }

  /** Stops every node gracefully and removes their stores. Safe twice. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((node) => node.server?.stop()));
    rmSync(this.root, { recursive: true, force: true });
    leftRoots.delete(this.root);
  }

  private member(node: NatsServer | number): Node {
    // By client port, so a server object from before a restart still names its node.
    const found = typeof node === 'number' ? this.members[node] : this.members.find((m) => m.port === node.port);
    if (!found) throw new Error(`not a node of this cluster: ${typeof node === 'number' ? node : node.url}`);
    return found;
  }

  private async launch(node: Node, timeoutMs: number): Promise<NatsServer> {
    mkdirSync(node.dir, { recursive: true });
    const routes = this.members.map((m) => `nats://127.0.0.1:${m.clusterPort}`).join(',');
    node.server = await NatsServer.start({
      dir: node.dir,
      port: node.port,
      httpPort: node.httpPort,
      timeoutMs,
      args: [
        ...['--server_name', node.name, '--cluster_name', 'test'],
        ...['--cluster', `nats://127.0.0.1:${node.clusterPort}`, '--routes', routes],
      ],
      // /healthz already wants contact with a meta leader; leader() reads its name from /jsz.
      ready: async (server) => Boolean((await jsz(server)).meta_cluster?.leader),
    });
    // A restart binds the same ports, so clients' URL lists and peers' routes stay right.
    node.port = node.server.port;
    node.httpPort = node.server.httpPort;
    return node.server;
  }

  private async agreed(read: (jsz: Jsz) => string | undefined, what: string, timeoutMs: number): Promise<NatsServer> {
    return waitFor(
      async () => {
        const running = this.members.filter((m) => m.server && !m.server.exit);
        const said = await Promise.all(running.map((m) => jsz(m.server!).then(read, () => undefined)));
        // A node that does not hold the stream says nothing; the others must name the same running node.
        const names = new Set(said.filter(Boolean));
        const leader = names.size === 1 ? running.find((m) => names.has(m.name)) : undefined;
        return leader?.server;
      },
      { timeoutMs, intervalMs: 50, what },
    );
  }
}

function jsz(server: NatsServer): Promise<Jsz> {
  return server.monitor<Jsz>('/jsz?accounts=true&streams=true');
}

/** Ports free right now: listened on together (so they differ), then closed. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      const server = net.createServer();
      return new Promise<net.Server>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve(server)));
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
