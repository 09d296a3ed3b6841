import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// DESIGN.md's table of layers: what each folder must not import.
const root = fileURLToPath(new URL('../../', import.meta.url));
const forbidden: Record<string, RegExp[]> = {
  'src/lib': [/^\.\.\/(domain|server|client|tui|telemetry)\//, /^(nice-grpc|@grpc|ink|react|@opentelemetry)/, /gen\//],
  'src/domain': [/^\.\.\/(server|client|tui|telemetry)\//, /^(nice-grpc|@grpc|ink|react|@opentelemetry\/sdk)/, /gen\//],
  'src/server': [/^\.\.\/(tui|client)\//, /^(ink|react)/],
  'src/client': [/^\.\.\/(server|domain|tui)\//, /^(ink|react)/],
  'src/tui': [/^\.\.\/(server|domain)\//, /gen\//],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe("DESIGN.md's layers", () => {
  for (const [folder, rules] of Object.entries(forbidden)) {
    it(`${folder} imports nothing its layer forbids`, () => {
      let files: string[] = [];
      try {
        files = sources(join(root, folder));
      } catch {
        return; // the folder does not exist yet: nothing to break
      }
      const breaches = files.flatMap((file) =>
        importsOf(file)
          .filter((spec) => rules.some((rule) => rule.test(spec)))
          .map((spec) => `${relative(root, file)} imports ${spec}`),
      );
      expect(breaches).toEqual([]);
    });
  }

  it('finds the imports it checks (the scan itself works)', () => {
    const imports = importsOf(join(root, 'src/domain/Hub.ts'));
    expect(imports).toContain('./Room.js');
  });
});
