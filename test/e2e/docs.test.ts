import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { serverKinds } from '../../bench/BenchServer.js';
import { current, regions } from '../../scripts/docsTables.js';
import { benchRuns } from '../../scripts/performanceTables.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('docs/', () => {
  for (const region of regions) {
    it(`${region.file}: its ${region.name} is what \`npm run docs:tables\` makes from the code`, () => {
      expect(current(region)).toBe(region.make());
    });
  }

  it('docs/performance.md has a table for every run in bench/results', () => {
    const page = read('docs/performance.md');
    for (const run of benchRuns()) expect(page).toContain(`\n### ${run}\n`);
  });

  it('docs/performance.md defines each server kind once, and its tables use no other', () => {
    const page = read('docs/performance.md');
    const kindsSection = page.slice(page.indexOf('## Server kinds'), page.indexOf('## Scenarios'));
    const defined = [...kindsSection.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
    expect(defined.sort()).toEqual(Object.keys(serverKinds).sort());
    const tables = current(regions.find((r) => r.name === 'bench-tables')!);
    const used = new Set(
      [...tables.matchAll(/^\| [\w-]+ \| ([^|]+?) \|/gm)]
        .map((m) => m[1]!.replace(/ \(incomplete\)$/, ''))
        .filter((server) => server !== 'server' && !server.includes('/')),
    );
    expect([...used].filter((server) => !defined.includes(server))).toEqual([]);
  });

  describe('docs/client.md', () => {
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

    it('its client library snippet runs as written against a real server', async () => {
      const snippet = /```ts\n(import \{ ChatClient \}[\s\S]*?)```/.exec(read('docs/client.md'))?.[1];
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
});
