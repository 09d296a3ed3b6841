import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { version } from '../../src/tui/args.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const run = promisify(execFile);
const make = async (...args: string[]) => (await run('make', ['--no-print-directory', ...args], { cwd: root, encoding: 'utf8' })).stdout;

/** The original project's targets, plus the ones a compose user reaches for next and the image smoke test. */
const TARGETS = ['build', 'run', 'build-dev', 'dev', 'server', 'client', 'test', 'test-integration', 'lint', 'proto'];
const EXTRA = ['help', 'run-client', 'down', 'smoke'];

describe('Makefile', () => {
  it('has the original targets, each listed by `make help`', async () => {
    const listed = (await make()).split('\n').filter(Boolean).map((line) => line.split(/\s+/)[0]);
    expect(listed.sort()).toEqual([...TARGETS, ...EXTRA].sort());
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
    expect(await make('-n', 'build', 'COMPOSE=docker-compose')).toBe('docker-compose build\n');
    expect(await make('-n', 'server', 'ARGS=--port 6000')).toBe('npm start -- --port 6000\n');
  });

  it('wraps scripts that bash can parse', async () => {
    for (const line of (await make('-n', 'smoke')).split('\n').filter(Boolean)) {
      const script = /^bash (scripts\/\S+)/.exec(line)?.[1];
      expect(script).toBeDefined();
      await expect(run('bash', ['-n', script!], { cwd: root })).resolves.toBeDefined();
    }
  });

  it('runs chat-tui with ARGS passed through', async () => {
    expect(await make('client', 'ARGS=--version')).toContain(`${version()}\n`);
  });

  it('test-integration runs the integration and end-to-end tests, not the unit tests', async () => {
    const listed = (await run('npm', ['run', '--silent', 'test:integration', '--', '--listTests'], { cwd: root, encoding: 'utf8' })).stdout.split('\n').filter(Boolean);
    const dirs = new Set(listed.map((file) => file.slice(root.length).split('/').slice(0, 2).join('/')));
    expect([...dirs].sort()).toEqual(['test/e2e', 'test/integration']);
  });
});
