import { execFileSync, execSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Dockerfile, envPairs, execForm } from '../helpers/Dockerfile.js';
import { composeFile } from '../helpers/compose.js';
import { LineClient } from '../helpers/LineClient.js';
import { ServerProcess } from '../helpers/serverProcess.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = Dockerfile.read(join(root, 'Dockerfile'));
/** The node images' `node` user, which the runtime stage switches to. */
const IMAGE_USERS: Record<string, { uid: number; gid: number }> = { node: { uid: 1000, gid: 1000 } };

/**
 * What the image is, without a Docker engine: the build stage's layout step
 * (scripts/stage-app.sh) makes the app, then the runtime stage's instructions
 * are replayed one by one on a scratch folder standing for the image's root —
 * its COPYs, its `npm ci` run as written, its ENV, WORKDIR and USER — and its
 * exact ENTRYPOINT + CMD and HEALTHCHECK are run. Only the apt-get step is not
 * replayed: the test checks this machine has those packages instead (CI
 * installs them).
 */
interface Image {
  /** Where image paths live here: `/app` is `${root}/app`. */
  root: string;
  env: Record<string, string>;
  workdir: string;
  user?: string;
  exposed: string[];
  healthcheck: { flags: Record<string, string>; argv: string[] };
  entrypoint: string[];
  cmd: string[];
  aptPackages: string[];
}

describe('the container image, replayed without Docker', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'chat-image-'));
  const buildRoot = join(scratch, 'build');
  let image: Image;
  let server: ServerProcess | undefined;
  const clients: LineClient[] = [];

  beforeAll(() => {
    // Readable by the unprivileged user the app runs as (mkdtemp makes it 0700).
    chmodSync(scratch, 0o755);
    buildStage();
    image = runtimeStage();
  }, 240_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.kill()));
    await server?.kill();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The build stage's last step, run with its destination under buildRoot. */
  function buildStage() {
    const run = dockerfile.stage('build').instructions.find((i) => i.keyword === 'RUN' && i.rest.includes('scripts/stage-app.sh'));
    const dest = /scripts\/stage-app\.sh\s+(\S+)/.exec(run?.rest ?? '')?.[1];
    expect(dest).toMatch(/^\//);
    execFileSync('bash', ['scripts/stage-app.sh', join(buildRoot, dest!)], { cwd: root, stdio: 'ignore' });
  }

  function runtimeStage(): Image {
    const imageRoot = join(scratch, 'runtime');
    const at = (path: string) => join(imageRoot, path);
    const built: Partial<Image> & { env: Record<string, string>; exposed: string[]; aptPackages: string[] } = {
      root: imageRoot,
      env: {},
      workdir: '/',
      exposed: [],
      aptPackages: [],
    };
    for (const { keyword, flags, rest } of dockerfile.stage('runtime').instructions) {
      switch (keyword) {
        case 'ENV':
          Object.assign(built.env, envPairs(rest));
          break;
        case 'WORKDIR':
          built.workdir = rest.startsWith('/') ? rest : join(built.workdir!, rest);
          mkdirSync(at(built.workdir), { recursive: true });
          break;
        case 'COPY': {
          expect(flags.from).toBe('build');
          const [dest = '', ...sources] = rest.split(/\s+/).reverse();
          const target = at(dest.startsWith('/') ? dest : join(built.workdir!, dest));
          for (const source of sources.reverse()) {
            const from = join(buildRoot, source);
            // Every path the Dockerfile copies must exist in what the build stage made.
            expect({ source, exists: existsSync(from) }).toEqual({ source, exists: true });
            cpSync(from, statSync(from).isDirectory() ? target : join(target, basename(source)), { recursive: true });
          }
          break;
        }
        case 'RUN':
          if (rest.startsWith('apt-get')) {
            built.aptPackages.push(...(/install\s+(.*?)(?:&&|$)/.exec(rest)?.[1] ?? '').split(/\s+/).filter((w) => w !== '' && !w.startsWith('-')));
          } else {
            // As written, as root (RUN comes before USER), from npm's cache where it can.
            execSync(rest, { cwd: at(built.workdir!), env: { ...process.env, ...built.env, npm_config_prefer_offline: 'true' }, stdio: 'ignore' });
          }
          break;
        case 'USER':
          built.user = rest;
          break;
        case 'EXPOSE':
          built.exposed.push(...rest.split(/\s+/));
          break;
        case 'HEALTHCHECK':
          built.healthcheck = { flags, argv: execForm(rest.replace(/^CMD\s+/, '')) };
          break;
        case 'ENTRYPOINT':
          built.entrypoint = execForm(rest);
          break;
        case 'CMD':
          built.cmd = execForm(rest);
          break;
        default:
          throw new Error(`the image test does not know how to replay ${keyword}: teach it`);
      }
    }
    return built as Image;
  }

  /** As the image's user, in its workdir, with its environment plus `env`. */
  function asImage(env: Record<string, string>) {
    const home = join(scratch, 'home');
    mkdirSync(home, { recursive: true, mode: 0o777 });
    chmodSync(home, 0o777);
    const user = image.user ? IMAGE_USERS[image.user] : undefined;
    const unprivileged = process.getuid?.() === 0 ? user : undefined;
    return { cwd: join(image.root, image.workdir), env: { ...image.env, HOME: home, ...env }, ...unprivileged };
  }

  it('is node:20 slim, pinned to a release, and runs as a user that is not root', () => {
    expect(dockerfile.stage('build').from).toBe(dockerfile.stage('runtime').from);
    expect(dockerfile.stage('runtime').from).toMatch(/^node:20\.\d+\.\d+-\w+-slim$/);
    expect(image.user).toBe('node');
    expect(image.exposed).toEqual(['50051']);
    expect(image.env.CHAT_GRPC_PORT).toBe('50051');
  });

  it('holds production dependencies only', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true).map(([path]) => path);
    const runtimeModules = (path: string) => existsSync(join(image.root, image.workdir, path));
    expect(devOnly).toContain('node_modules/jest'); // the control: the check would see one
    expect(devOnly.filter(runtimeModules)).toEqual([]);
    for (const needed of ['node_modules/nice-grpc', 'node_modules/tsx', 'node_modules/ink', 'node_modules/@opentelemetry/sdk-node']) {
      expect({ needed, installed: runtimeModules(needed) }).toEqual({ needed, installed: true });
    }
  });

  it('has every path its commands run, and the packages its apt-get step installs are here', () => {
    const client = composeFile().services.client!;
    const commands = [[...image.entrypoint, ...image.cmd], image.healthcheck.argv, [...(client.entrypoint as string[])]];
    for (const argv of commands) {
      const [program = '', ...args] = argv;
      if (program.startsWith('/')) expect({ program, exists: existsSync(program) }).toEqual({ program, exists: true });
      for (const path of args.filter((a) => /^[\w.-]+\/[\w./-]+$/.test(a))) {
        expect({ path, exists: existsSync(join(image.root, image.workdir, path)) }).toEqual({ path, exists: true });
      }
    }
    expect(image.aptPackages).toEqual(['tini']);
    for (const pkg of image.aptPackages) expect(execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' })).toBe('install ok installed');
  });

  it('keeps out of the build context only what is not the project', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const pattern = new RegExp(`^(?:${ignored.map((p) => p.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')).join('|')})(?:/|$)`);
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(tracked.filter((f) => pattern.test(f) && !f.startsWith('bench/results/'))).toEqual([]);
    expect(pattern.test('node_modules/x/index.js')).toBe(true);
  });

  it('serves as its user with its exact command, answers its health check, chats, and drains on SIGTERM', async () => {
    // 127.0.0.1 and a free port stand in for the container's own network namespace.
    server = ServerProcess.run([...image.entrypoint, ...image.cmd], asImage({ CHAT_GRPC_HOST: '127.0.0.1', CHAT_GRPC_PORT: '0' }));
    const port = String(await server.port(30_000));

    // tini is the process we started; the server is its child, not running as root.
    const node = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim();
    expect(node).toMatch(/^\d+$/);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${node}/status`, 'utf8'))?.[1];
    expect(uid).not.toBe('0');

    const probe = (env: Record<string, string>) => {
      const [program = '', ...args] = image.healthcheck.argv;
      const options = asImage(env);
      try {
        return { code: 0, out: execFileSync(program, args, { ...options, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }) };
      } catch (error) {
        const e = error as { status: number; stderr: string };
        return { code: e.status, out: e.stderr };
      }
    };
    expect(probe({ CHAT_GRPC_PORT: port })).toEqual({ code: 0, out: `127.0.0.1:${port}: SERVING\n` });

    // Two chat-tui clients, started as the compose `client` service starts them.
    const client = composeFile().services.client!;
    const clientEnv = { ...(client.environment as Record<string, string>), CHAT_GRPC_HOST: '127.0.0.1', CHAT_GRPC_PORT: port };
    const [alice, bob] = ['Alice', 'Bob'].map((name) => {
      const c = LineClient.run([...(client.entrypoint as string[]), '--plain', '--name', name, '--room', 'lobby'], asImage(clientEnv));
      clients.push(c);
      return c;
    }) as [LineClient, LineClient];
    await alice.waitForLine('#lobby', { timeoutMs: 30_000 });
    await bob.waitForLine('#lobby', { timeoutMs: 30_000 });
    alice.say('hello from the image');
    await bob.waitForLine(/#lobby <Alice> hello from the image$/, { timeoutMs: 15_000 });
    alice.end();
    bob.end();
    expect(await alice.waitExit(15_000)).toEqual({ code: 0, signal: null });
    expect(await bob.waitExit(15_000)).toEqual({ code: 0, signal: null });

    server.child.kill('SIGTERM');
    expect(await server.waitExit(15_000)).toEqual({ code: 0, signal: null });
    expect(server.logs().map((l) => l.event)).toEqual(expect.arrayContaining(['drain_start', 'drain_end']));
    // With the server gone, the health check says so.
    expect(probe({ CHAT_GRPC_PORT: port }).code).toBe(2);
  }, 120_000);
});

