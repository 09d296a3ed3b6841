import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { composeFile } from '../helpers/compose.js';
import { version } from '../../src/tui/args.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const run = promisify(execFile);
const make = async (...args: string[]) => (await run('make', ['--no-print-directory', ...args], { cwd: root, encoding: 'utf8' })).stdout;

/**
 * The original project's targets with the original's meanings, as its README
 * gives them (a user of the original types them from memory): what each runs.
 */
const ORIGINAL: Record<string, string[]> = {
  build: ['npm ci', 'npm run typecheck'], // builds the server here
  run: ['npm start --'], // runs it here
  'build-dev': ['docker compose build'], // builds the dev image
  dev: ['docker compose up --build'], // the whole environment: server + collector (+ Jaeger, Prometheus)
  server: ['docker compose up --build --no-deps chat-grpc'], // only the chat-grpc service
  client: ['docker compose run --rm client'], // the CLI inside Compose
  test: ['npm test'],
  'test-integration': ['npm run test:integration'],
  lint: ['npm run lint'],
  proto: ['npm run generate'],
};
/** Ours, under names the original does not use. */
const EXTRA = ['help', 'watch', 'tui', 'down', 'smoke', 'cluster'];
const TARGETS = Object.keys(ORIGINAL);
const composeServices = Object.keys(composeFile().services);

describe('Makefile', () => {
  it('has the original targets and our extras, each listed by `make help`', async () => {
    const listed = (await make()).split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]);
    expect(listed.sort()).toEqual([...TARGETS, ...EXTRA].sort());
  });

  it('docs/operating.md lists exactly the targets make has', async () => {
    const doc = readFileSync(join(root, 'docs/operating.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Make targets'));
    const documented = [...table.matchAll(/`make ([a-z-]+)`/g)].map((m) => m[1]!);
    expect([...new Set(documented)].sort()).toEqual([...TARGETS, ...EXTRA].sort());
  });

  it("gives each of the original's targets the original's meaning", async () => {
    for (const [target, commands] of Object.entries(ORIGINAL)) {
      const lines = (await make('-n', target)).split('\n').filter(Boolean).map((line) => line.trimEnd());
      expect({ target, lines }).toEqual({ target, lines: commands });
    }
    // Compose targets name services that compose.yaml has.
    for (const service of ['chat-grpc', 'client']) expect(composeServices).toContain(service);
    expect(await make('-n', 'run', 'ARGS=--port 6000')).toBe('npm start -- --port 6000\n');
    expect(await make('-n', 'client', 'ARGS=--name Alice')).toBe('docker compose run --rm client --name Alice\n');
  });

  it('wraps only npm scripts that exist, docker compose and our scripts, one command a line', async () => {
    for (const target of [...TARGETS, ...EXTRA.filter((t) => t !== 'help')]) {
      const lines = (await make('-n', target)).split('\n').filter(Boolean);
      expect({ target, lines: lines.length > 0 }).toEqual({ target, lines: true });
      for (const line of lines) {
        const npmScript = /^npm (?:run )?([\w:-]+)/.exec(line)?.[1];
        if (npmScript === 'ci') continue;
        if (npmScript !== undefined) expect({ target, line, script: npmScript in scripts }).toEqual({ target, line, script: true });
        else expect({ target, line }).toEqual({ target, line: expect.stringMatching(/^(docker compose |npx chat-tui|bash scripts\/)/) });
      }
    }
    expect(await make('-n', 'build-dev', 'COMPOSE=docker-compose')).toBe('docker-compose build\n');
  });

  it('wraps scripts that bash can parse', async () => {
    for (const line of (await make('-n', 'smoke')).split('\n').filter(Boolean)) {
      const script = /^bash (scripts\/\S+)/.exec(line)?.[1];
      expect(script).toBeDefined();
      await expect(run('bash', ['-n', script!], { cwd: root })).resolves.toBeDefined();
    }
  });

  it('runs chat-tui here (tui) and the server here (run) with ARGS passed through', async () => {
    expect(await make('tui', 'ARGS=--version')).toContain(`${version()}\n`);
    expect(await make('run', 'ARGS=--help')).toContain('CHAT_GRPC_PORT');
  });

  it('test-integration runs the integration and end-to-end tests, not the unit tests', async () => {
    const listed = (await run('npm', ['run', '--silent', 'test:integration', '--', '--listTests'], { cwd: root, encoding: 'utf8' })).stdout.split('\n').filter(Boolean);
    const dirs = new Set(listed.map((file) => file.slice(root.length).split('/').slice(0, 2).join('/')));
    expect([...dirs].sort()).toEqual(['test/e2e', 'test/integration']);
  });
});
