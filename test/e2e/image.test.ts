import { execFileSync, execSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Dockerfile, envPairs, execForm } from '../helpers/Dockerfile.js';
import { composeFile } from '../helpers/compose.js';
import { LineClient } from '../helpers/LineClient.js';
import { OtlpReceiver } from '../helpers/OtlpReceiver.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { Tmux } from '../helpers/Tmux.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = Dockerfile.read(join(root, 'Dockerfile'));
const { services } = composeFile();
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
  let tmux: Tmux | undefined;
  let collectorReceiver: OtlpReceiver | undefined;

  beforeAll(() => {
    // Readable by the unprivileged user the app runs as (mkdtemp makes it 0700).
    chmodSync(scratch, 0o755);
    buildStage();
    image = runtimeStage();
  }, 240_000);
  afterAll(async () => {
    tmux?.kill();
    await Promise.all(clients.map((c) => c.kill()));
    await server?.kill();
    await collectorReceiver?.close();
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
            // As written, as root (RUN comes before USER), with an npm cache of the
            // image's own: the step ends with `npm cache clean --force`.
            execSync(rest, { cwd: at(built.workdir!), env: { ...process.env, ...built.env, npm_config_cache: join(scratch, 'npm-cache') }, stdio: 'ignore' });
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

  /** The image's user, when the suite can switch to it (as root); else the current user. */
  function imageUser() {
    return process.getuid?.() === 0 && image.user ? IMAGE_USERS[image.user] : undefined;
  }

  /** As the image's user, in its workdir, with its environment plus `env`. */
  function asImage(env: Record<string, string>) {
    const home = join(scratch, 'home');
    mkdirSync(home, { recursive: true, mode: 0o777 });
    chmodSync(home, 0o777);
    return {
      cwd: join(image.root, image.workdir),
      // The base image's PATH (not an ENV of ours); tini reaps orphans as it would as PID 1.
      env: { PATH: process.env.PATH ?? '', ...image.env, HOME: home, TINI_SUBREAPER: '1', ...env },
      ...imageUser(),
    };
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
    const client = services.client!;
    const commands = [[...image.entrypoint, ...image.cmd], image.healthcheck.argv, [...client.entrypoint!]];
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

  it('serves as its user with its exact command, answers its health check, chats with compose settings, exports telemetry, and drains on SIGTERM', async () => {
    // Stand-ins for what compose provides: 127.0.0.1 and free ports for service
    // names, and a real OTLP/HTTP receiver for the collector.
    const collector = (collectorReceiver = await OtlpReceiver.start());
    const asService = (name: string, env: Record<string, string>) => ({ ...services[name]!.environment, OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, ...env });
    server = ServerProcess.run([...image.entrypoint, ...image.cmd], asImage(asService('chat-grpc', { CHAT_GRPC_HOST: '127.0.0.1', CHAT_GRPC_PORT: '0' })));
    const port = String(await server.port(30_000));

    // tini is the process we started; the server is its child, not running as root.
    const node = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim();
    expect(node).toMatch(/^\d+$/);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${node}/status`, 'utf8'))?.[1];
    expect(uid).toBe(String(imageUser()?.uid ?? process.getuid?.()));
    expect(uid).not.toBe('0');

    const probe = () => {
      const [program = '', ...args] = image.healthcheck.argv;
      const { cwd, env, uid, gid } = asImage({ CHAT_GRPC_PORT: port });
      try {
        return { code: 0, out: execFileSync(program, args, { cwd, env, uid, gid, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] }) };
      } catch (error) {
        const e = error as { status: number; stderr: string };
        return { code: e.status, out: e.stderr };
      }
    };
    expect(probe()).toEqual({ code: 0, out: `127.0.0.1:${port}: SERVING\n` });

    // chat-tui as the compose `client` service runs it: two in line mode, one in
    // its full-screen Ink UI in a terminal (the service has a TTY).
    const clientArgv = [...services.client!.entrypoint!];
    const clientEnv = asService('client', { CHAT_GRPC_HOST: '127.0.0.1', CHAT_GRPC_PORT: port });
    const [alice, bob] = ['Alice', 'Bob'].map((name) => {
      const c = LineClient.run([...clientArgv, '--plain', '--name', name, '--room', 'lobby'], asImage(clientEnv));
      clients.push(c);
      return c;
    }) as [LineClient, LineClient];
    tmux = new Tmux();
    const user = imageUser();
    const asUser = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'] : [];
    const { cwd, env } = asImage(clientEnv);
    tmux.start('carol', [...asUser, ...clientArgv, '--name', 'Carol', '--room', 'lobby'], { ...env, CI: '0', TERM: 'xterm-256color' }, { width: 100, height: 30, cwd });
    await alice.waitForLine('#lobby', { timeoutMs: 30_000 });
    await bob.waitForLine('#lobby', { timeoutMs: 30_000 });
    await tmux.waitForText('carol', 'Members (3)', 30_000);
    alice.say('hello from the image');
    await bob.waitForLine(/#lobby <Alice> hello from the image$/, { timeoutMs: 15_000 });
    await tmux.waitForText('carol', /\d{2}:\d{2} Alice +hello from the image/, 15_000);
    tmux.sendKeys('carol', 'C-c');
    expect(await tmux.waitExit('carol', 15_000)).toBe(0);
    alice.end();
    bob.end();
    expect(await alice.waitExit(15_000)).toEqual({ code: 0, signal: null });
    expect(await bob.waitExit(15_000)).toEqual({ code: 0, signal: null });

    server.child.kill('SIGTERM');
    expect(await server.waitExit(15_000)).toEqual({ code: 0, signal: null });
    expect(server.logs().map((l) => l.event)).toEqual(expect.arrayContaining(['drain_start', 'drain_end']));
    // With the server gone, the health check says so.
    expect(probe().code).toBe(1);

    // Telemetry reached the "collector": Alice's send and the server's publish in one trace, and the server's counts.
    const [send] = await collector.waitForSpans((s) => s.service === 'chat-tui' && s.name === 'chat.send', 1);
    await collector.waitForSpans((s) => s.service === 'chat-grpc' && s.name === 'chat.publish' && s.traceId === send!.traceId, 1);
    expect(collector.latest('chat.messages.received')).toMatchObject({ service: 'chat-grpc', value: 1 });
  }, 120_000);
});

