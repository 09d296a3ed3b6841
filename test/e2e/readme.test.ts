import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { settingsTable } from '../../scripts/settingsTable.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('README', () => {
  let t: TestServer;
  let dir: string;
  beforeEach(async () => {
    t = await TestServer.start();
    dir = mkdtempSync(join(root, 'test', '.readme-'));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.stop();
  });

  it('lists every setting exactly as src/server/settings.ts defines it', () => {
    const table = readme.slice(readme.indexOf('| variable |'), readme.indexOf('<!-- /settings-table -->')).trim();
    expect(table).toBe(settingsTable());
  });

  it('its client library snippet runs as written against a real server', async () => {
    const snippet = /```ts\n(import \{ ChatClient \}[\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const file = join(dir, 'snippet.ts');
    writeFileSync(file, snippet!.replace("'./src/", "'../../src/"));
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', CHAT_ADDRESS: t.address },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    let code: number | null | undefined;
    child.on('exit', (c) => (code = c));
    await waitFor(() => code !== undefined, { timeoutMs: 15000, what: 'the snippet to finish' }).catch((e) => {
      child.kill('SIGKILL');
      throw e;
    });
    expect(out).toContain('#general Alice: hello');
    expect(code).toBe(0);
  });
});
