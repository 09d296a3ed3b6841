import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { version } from '../../src/tui/args.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { Tmux } from '../helpers/Tmux.js';

/**
 * `npm i -g` of the packed package, into a scratch prefix: what a user gets from
 * the registry or a tarball, with only the files package.json ships. Dependencies
 * come from npm's cache where `npm ci` left them (--prefer-offline).
 */
describe('chat-tui installed with npm i -g', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-global-'));
  const prefix = join(dir, 'prefix');
  const bin = join(prefix, 'bin', 'chat-tui');
  let server: ServerProcess;
  let tmux: Tmux | undefined;

  beforeAll(() => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { encoding: 'utf8' })) as Array<{ filename: string }>;
    execFileSync('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed!.filename)], { stdio: 'ignore' });
  }, 240_000);
  afterAll(async () => {
    tmux?.kill();
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts chat-tui on the PATH, and it knows its version', () => {
    const run = spawnSync(bin, ['--version'], { encoding: 'utf8', cwd: dir });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(version());
  });

  it('chats in line mode from outside the repository', async () => {
    server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0']);
    const port = await server.port();
    const run = spawnSync(bin, ['--plain', '--name', 'Gina', '--room', 'lobby', '--server', `127.0.0.1:${port}`], {
      input: 'hello from a global install\n',
      encoding: 'utf8',
      cwd: dir,
      timeout: 60_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\[\d{2}:\d{2}:\d{2}\] #lobby <Gina> hello from a global install$/m);
  });

  it('draws its full-screen UI in a terminal, whatever the current folder (its tsconfig travels with it)', async () => {
    server ??= ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0']);
    const port = await server.port();
    tmux = new Tmux();
    tmux.start('hana', [bin, '--name', 'Hana', '--room', 'lobby', '--server', `127.0.0.1:${port}`], { CI: '0', TERM: 'xterm-256color' }, { cwd: dir });
    await tmux.waitForText('hana', 'Welcome to #lobby, Hana!', 30_000);
    tmux.sendKeys('hana', 'C-c');
    expect(await tmux.waitExit('hana', 15_000)).toBe(0);
  });
});
