import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { settings } from '../../src/server/settings.js';
import { composeFile, readYaml } from '../helpers/compose.js';
import { Dockerfile, envPairs, execForm } from '../helpers/Dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = composeFile();
const services = compose.services;
const dockerfile = Dockerfile.read(join(root, 'Dockerfile'));
const runtime = dockerfile.stage('runtime').instructions;
const imageEnv = Object.assign({}, ...runtime.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.rest))) as Record<string, string>;

/**
 * The ports the third-party images listen on by default, from their own
 * Dockerfiles and default configurations (the versions pinned in compose.yaml):
 * jaegertracing/jaeger 2.x (cmd/jaeger/Dockerfile, all-in-one.yaml) and
 * prom/prometheus 3.x (--web.listen-address) and nats 2.10 with the command
 * compose.yaml gives it (clients on 4222, --http_port 8222, no cluster port).
 * The collector's come from our deploy/otel-collector.yaml, read below.
 */
const IMAGE_PORTS: Record<string, { ports: number[]; otlpGrpc?: number; health?: number }> = {
  'jaegertracing/jaeger': { ports: [16686, 4317, 4318, 13133], otlpGrpc: 4317, health: 13133 },
  'prom/prometheus': { ports: [9090], health: 9090 },
  nats: { ports: [4222, 8222], health: 8222 },
};
/** Our server's services: the stack's one, and the replicas of profile `cluster`. */
const SERVERS = ['chat-grpc', 'chat-grpc-1', 'chat-grpc-2'];
const REPLICAS = SERVERS.filter((name) => services[name]?.profiles?.includes('cluster'));

interface CollectorConfig {
  receivers: Record<string, { protocols?: Record<string, { endpoint: string }> }>;
  processors: Record<string, unknown>;
  exporters: Record<string, { endpoint?: string }>;
  extensions: Record<string, { endpoint?: string }>;
  service: {
    extensions: string[];
    pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
    telemetry: { metrics: { readers: Array<{ pull: { exporter: { prometheus: { host: string; port: number } } } }> } };
  };
}
const collector = readYaml<CollectorConfig>('deploy/otel-collector.yaml');
const prometheus = readYaml<{ scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> }>('deploy/prometheus.yml');

const portOf = (endpoint: string) => Number(/:(\d+)$/.exec(endpoint)?.[1]);
const imageName = (service: string) => services[service]!.image!.split(':')[0]!;
const builtHere = (service: string) => services[service]!.build !== undefined;

/** The ports a service listens on inside its container. */
function listening(service: string): number[] {
  if (builtHere(service)) return runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.rest.split(/\s+/).map(Number));
  if (imageName(service) === 'otel/opentelemetry-collector-contrib') {
    return [
      ...Object.values(collector.receivers).flatMap((r) => Object.values(r.protocols ?? {}).map((p) => portOf(p.endpoint))),
      ...Object.values(collector.extensions).map((e) => portOf(e.endpoint ?? '')),
      ...Object.values(collector.exporters).flatMap((e) => (e.endpoint?.startsWith('0.0.0.0:') ? [portOf(e.endpoint)] : [])),
      ...collector.service.telemetry.metrics.readers.map((r) => r.pull.exporter.prometheus.port),
    ];
  }
  const known = IMAGE_PORTS[imageName(service)];
  if (!known) throw new Error(`no known ports for ${service}'s image: add them to IMAGE_PORTS`);
  return known.ports;
}

describe('compose.yaml and deploy/', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'chat-compose-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const composeConfig = (file: string, ...args: string[]) => {
    const run = spawnSync('docker-compose', ['-f', file, ...args, 'config', '--quiet'], { cwd: root, encoding: 'utf8' });
    if (run.error) throw new Error(`docker-compose is not installed (apt-get install docker-compose): ${run.error.message}`);
    return run;
  };

  it('is a valid stack for docker-compose, with and without the client and cluster profiles', () => {
    expect(composeConfig('compose.yaml')).toMatchObject({ status: 0, stderr: '' });
    expect(composeConfig('compose.yaml', '--profile', 'client')).toMatchObject({ status: 0, stderr: '' });
    expect(composeConfig('compose.yaml', '--profile', 'cluster')).toMatchObject({ status: 0, stderr: '' });
    expect(composeConfig('compose.yaml', '--profile', 'cluster', '--profile', 'client')).toMatchObject({ status: 0, stderr: '' });
    // The control: the same validator refuses a stack that depends on a service it lacks.
    const broken = join(scratch, 'broken.yaml');
    writeFileSync(broken, readFileSync(join(root, 'compose.yaml'), 'utf8').replace('      jaeger:\n        condition', '      jeager:\n        condition'));
    expect(composeConfig(broken).status).not.toBe(0);
  });

  it('pins every image it pulls, and builds ours from the Dockerfile', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build !== undefined) {
        expect({ name, build: service.build, image: service.image }).toEqual({ name, build: '.', image: 'chat-grpc:local' });
      } else {
        expect({ name, image: service.image }).toEqual({ name, image: expect.stringMatching(/^[\w./-]+:v?\d+\.\d+\.\d+(-alpine)?$/) });
      }
    }
  });

  it('wires every collector pipeline to receivers, processors and exporters it defines, and uses all it defines', () => {
    const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
    for (const [name, pipeline] of Object.entries(collector.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const component of pipeline[kind]) {
          expect({ pipeline: name, kind, component, defined: component in collector[kind] }).toEqual({ pipeline: name, kind, component, defined: true });
          used[kind].add(component);
        }
      }
      // The memory limiter only protects what comes after it.
      expect(pipeline.processors[0]).toBe('memory_limiter');
    }
    expect(Object.keys(collector.service.pipelines).sort()).toEqual(['metrics', 'traces']);
    for (const kind of ['receivers', 'processors', 'exporters'] as const) expect([...used[kind]].sort()).toEqual(Object.keys(collector[kind]).sort());
    expect(collector.service.extensions.sort()).toEqual(Object.keys(collector.extensions).sort());
    // OTLP on both transports, on every interface (the default, localhost, is unreachable from other containers).
    expect(collector.receivers.otlp?.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } });
  });

  it('runs the collector with the config file it mounts', () => {
    const service = services['otel-collector']!;
    const mount = service.volumes!.map((v) => v.split(':')).find(([source]) => source === './deploy/otel-collector.yaml');
    expect(mount).toBeDefined();
    expect(service.command).toEqual([`--config=${mount![1]}`]);
    for (const [name, s] of Object.entries(services)) {
      for (const [source] of (s.volumes ?? []).map((v) => v.split(':'))) {
        // A bind mount's file exists here; a named volume is declared at the top level.
        const exists = /^[./]/.test(source!) ? existsSync(join(root, source!)) : source! in (compose.volumes ?? {});
        expect({ name, source, exists }).toEqual({ name, source, exists: true });
      }
    }
  });

  it('points telemetry at the collector over OTLP/HTTP, on the port it receives on', () => {
    const httpPort = portOf(collector.receivers.otlp!.protocols!.http!.endpoint);
    const senders = Object.entries(services).filter(([, s]) => s.environment?.OTEL_EXPORTER_OTLP_ENDPOINT);
    expect(senders.map(([name]) => name).sort()).toEqual([...SERVERS, 'client'].sort());
    for (const [name, s] of senders) {
      const url = new URL(s.environment!.OTEL_EXPORTER_OTLP_ENDPOINT!);
      expect({ name, protocol: url.protocol, host: url.hostname, port: Number(url.port), path: url.pathname }).toEqual({ name, protocol: 'http:', host: 'otel-collector', port: httpPort, path: '/' });
    }
  });

  it('sends traces to Jaeger on its OTLP/gRPC port, and Prometheus scrapes every metrics endpoint the collector serves', () => {
    const [host, port] = collector.exporters['otlp_grpc/jaeger']!.endpoint!.split(':');
    expect(host).toBe('jaeger');
    expect(Number(port)).toBe(IMAGE_PORTS[imageName('jaeger')]!.otlpGrpc);
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets)).sort();
    const served = [portOf(collector.exporters.prometheus!.endpoint!), ...collector.service.telemetry.metrics.readers.map((r) => r.pull.exporter.prometheus.port)];
    expect(targets).toEqual(served.map((p) => `otel-collector:${p}`).sort());
  });

  it('publishes only ports its services listen on, each on the host once, and the client finds the server by name', () => {
    const hostPorts: number[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const mapping of s.ports ?? []) {
        const [published, target] = mapping.split(':').map(Number);
        hostPorts.push(published!);
        // A replica cannot have the host's 50051 too: each is published on a port of its own.
        const same = published === target || REPLICAS.includes(name);
        expect({ name, mapping, listened: listening(name).includes(target!), same }).toEqual({ name, mapping, listened: true, same: true });
      }
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    expect(listening('chat-grpc')).toEqual([Number(imageEnv.CHAT_GRPC_PORT)]);
    const client = services.client!;
    expect(client.environment).toMatchObject({ CHAT_GRPC_HOST: 'chat-grpc', CHAT_GRPC_PORT: imageEnv.CHAT_GRPC_PORT });
    expect(client.profiles).toEqual(['client']);
    expect(client).toMatchObject({ stdin_open: true, tty: true });
    // The client's entrypoint keeps the image's PID 1.
    const entrypoint = runtime.find((i) => i.keyword === 'ENTRYPOINT')!;
    expect(client.entrypoint!.slice(0, 2)).toEqual(execForm(entrypoint.rest));
  });

  it('checks the health of every service that can run a check, on a port it listens on', () => {
    const healthOf = (name: string) => {
      const s = services[name]!;
      if (s.healthcheck?.disable) return 'disabled';
      if (s.healthcheck?.test) return s.healthcheck.test;
      if (builtHere(name) && runtime.some((i) => i.keyword === 'HEALTHCHECK')) return 'image';
      return 'none';
    };
    for (const name of Object.keys(services)) {
      const health = healthOf(name);
      if (Array.isArray(health)) {
        const url = new URL(health.find((a) => a.startsWith('http://'))!);
        expect({ name, host: url.hostname, port: Number(url.port) }).toEqual({ name, host: 'localhost', port: IMAGE_PORTS[imageName(name)]!.health });
        expect(listening(name)).toContain(Number(url.port));
      }
    }
    // Ours asks grpc.health.v1 on the port the server listens on (bin/grpc-health-probe.js
    // defaults to 127.0.0.1:$CHAT_GRPC_PORT, set in the image).
    expect(healthOf('chat-grpc')).toBe('image');
    expect(execForm(runtime.find((i) => i.keyword === 'HEALTHCHECK')!.rest.replace(/^CMD\s+/, ''))).toEqual(['node', 'bin/grpc-health-probe.js']);
    // The collector's image is FROM scratch (no shell, no wget), and a client reports on nothing.
    expect(healthOf('otel-collector')).toBe('none');
    expect(healthOf('client')).toBe('disabled');

    for (const [name, s] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(dependency in services).toBe(true);
        const checked = !['none', 'disabled'].includes(healthOf(dependency) as string);
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: checked ? 'service_healthy' : 'service_started' });
      }
    }
  });

  it('is described by docs/operating.md: its table lists every published port and its service', () => {
    const page = readFileSync(join(root, 'docs/operating.md'), 'utf8');
    const table = page.slice(page.indexOf('| port | service | what |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const documented = rows.map((row) => row.split('|').slice(1, 3).map((cell) => cell.trim()).join(' ')).sort();
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${p.split(':')[0]} ${name}`)).sort();
    expect(documented).toEqual(published);
  });

  it('gives every server longer to stop than its drain takes', () => {
    const drainMs = settings.find((s) => s.env === 'CHAT_DRAIN_GRACE_MS')!.default;
    for (const name of SERVERS) {
      const grace = /^(\d+)s$/.exec(services[name]!.stop_grace_period ?? '')?.[1];
      expect({ name, graceMs: Number(grace) * 1000 > drainMs }).toEqual({ name, graceMs: true });
    }
  });

  it('profile cluster: NATS with JetStream on a volume, and two replicas that use it, each published on its own port and both behind one name', () => {
    const nats = services.nats!;
    expect(nats.profiles).toEqual(['cluster']);
    const command = nats.command!;
    expect(command).toContain('--jetstream');
    const store = command[command.indexOf('--store_dir') + 1];
    const [volume, mountedAt] = nats.volumes!.map((v) => v.split(':')).find(([, target]) => target === store)!;
    expect(volume! in (compose.volumes ?? {})).toBe(true);
    expect(mountedAt).toBe(store);
    expect(Number(command[command.indexOf('--http_port') + 1])).toBe(IMAGE_PORTS.nats!.health);

    expect(REPLICAS).toEqual(['chat-grpc-1', 'chat-grpc-2']);
    for (const name of REPLICAS) {
      const s = services[name]!;
      const urls = s.environment!.CHAT_NATS_URL!.split(',').map((u) => new URL(u));
      for (const url of urls) {
        expect({ name, protocol: url.protocol, host: url.hostname, listened: listening('nats').includes(Number(url.port)) }).toEqual({ name, protocol: 'nats:', host: 'nats', listened: true });
      }
      expect(s.depends_on?.nats).toEqual({ condition: 'service_healthy' });
      expect(s.networks?.default?.aliases).toEqual(['chat-grpc-cluster']);
      // Everything else the stack's server has, the replicas have too.
      const { ports: _p, profiles: _r, networks: _n, ...shape } = s;
      const { ports: _q, ...stack } = services['chat-grpc']!;
      expect({ ...shape, environment: { ...shape.environment, CHAT_NATS_URL: undefined }, depends_on: { ...shape.depends_on, nats: undefined } }).toEqual({
        ...stack,
        environment: { ...stack.environment, CHAT_NATS_URL: undefined },
        depends_on: { ...stack.depends_on, nats: undefined },
      });
    }
  });
});
