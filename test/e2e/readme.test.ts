import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const pages = ['README.md', ...docs];
const readme = read('README.md');

/** The text without fenced code blocks (their lines become empty, so line structure stays). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```$/gm, (block) => block.replace(/[^\n]/g, ''));

/** Heading texts of a page, outside code blocks. */
const headings = (text: string) => [...prose(text).matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!);

/** GitHub's anchor for a heading: lower case, no punctuation but `-` and `_`, spaces as hyphens. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');

/** The body of a `## name…` section: up to the next `## ` heading. */
function section(text: string, name: string): string {
  const start = text.search(new RegExp(`^## ${name}`, 'm'));
  if (start < 0) return '';
  const rest = text.slice(start + 3);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Code spans that name a path: no spaces, and a folder (`x/`) or a file with an extension. */
const pathsIn = (text: string) =>
  [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!).filter((s) => /^[\w@.\/-]+$/.test(s) && (s.endsWith('/') || /\.[a-z]+$/i.test(s)));

describe('README', () => {
  it('is a front page: at most 170 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(170);
  });

  it('has its sections: quick start, chat-tui, how a message flows, layout, docs', () => {
    const sections = headings(readme);
    for (const wanted of [/^Quick start$/, /^chat-tui/, /^How a message flows$/, /^Layout$/, /^Docs$/]) {
      expect(sections.filter((s) => wanted.test(s))).toHaveLength(1);
    }
    // The two commands, run and test.
    expect(section(readme, 'Quick start')).toMatch(/npm ci && npm start[\s\S]*npm test/);
  });

  it('links every page in docs/', () => {
    const links = section(readme, 'Docs');
    for (const page of docs) expect(links).toContain(`](${page})`);
  });

  it('names, in how a message flows, real files from the client through the server back to the members', () => {
    const named = pathsIn(section(readme, 'How a message flows'));
    for (const file of [
      'src/client/ChatSession.ts',
      'src/server/channel.ts',
      'src/domain/Hub.ts',
      'src/domain/Room.ts',
      'src/domain/Fanout.ts',
      'src/domain/Session.ts',
      'src/server/sessionWrites.ts',
      'src/server/FramedWrite.ts',
    ]) {
      expect(named).toContain(file);
    }
    expect(named.filter((file) => !existsSync(join(root, file)))).toEqual([]);
  });

  it('lays out every folder, and every file its layout table names exists', () => {
    const rows = section(readme, 'Layout')
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split(' | '));
    // The first column names places (folders and files at the top); the second, files in them.
    const placesOf = (where: string) => [...where.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const missing = rows.flatMap(([where = '', what = '']) => {
      const places = placesOf(where);
      const base = places.length === 1 && places[0]!.endsWith('/') ? places[0]! : '';
      return [...places, ...pathsIn(what).map((p) => base + p)].filter((p) => !existsSync(join(root, p)));
    });
    expect(missing).toEqual([]);
    const laidOut = new Set(rows.flatMap(([where = '']) => placesOf(where)));
    // Every tracked folder at the top and in src/ has its row.
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    const folders = new Set(tracked.flatMap((file) => /^(src\/[^/]+\/|(?!src\/)[^./][^/]*\/)/.exec(file)?.[1] ?? []));
    expect([...folders].filter((folder) => !laidOut.has(folder))).toEqual([]);
  });
});

describe('README and docs/', () => {
  it('link only to files that exist, and to headings that exist', () => {
    const broken = pages.flatMap((page) => {
      const text = prose(read(page)).replace(/`[^`\n]*`/g, '');
      return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => {
          const [file = '', anchor] = target.split('#');
          const path = file === '' ? page : relative(root, join(root, dirname(page), file));
          if (!existsSync(join(root, path))) return true;
          return anchor !== undefined && !headings(read(path)).map(slug).includes(anchor);
        })
        .map((target) => `${page}: ${target}`);
    });
    expect(broken).toEqual([]);
  });

  it('say each thing in one place: no paragraph, list item or table row stands twice', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const page of pages) {
      // Generated regions are checked against the code instead (test/e2e/docs.test.ts).
      const text = prose(read(page)).replace(/^<!-- ([\w-]+):[^\n]*-->$[\s\S]*?^<!-- \/\1 -->$/gm, '');
      const pieces = text.split(/\n\s*\n|\n(?=\s*(?:[-*]|\d+\.) )|\n(?=\|)/);
      for (const piece of pieces.map((p) => p.replace(/\s+/g, ' ').trim()).filter((p) => p.length >= 60)) {
        if (seen.has(piece)) twice.push(`${seen.get(piece)} and ${page}: ${piece.slice(0, 80)}…`);
        else seen.set(piece, page);
      }
    }
    expect(twice).toEqual([]);
  });
});
