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

/** Only the entry points start telemetry, and only src/telemetry touches the SDK. */
const entryPoints = ['src/server/main.ts', 'src/tui/main.tsx'];
const sdk = /^@opentelemetry\/(?!api$)/;

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

  it('only the entry points import src/telemetry, and only src/telemetry imports the OpenTelemetry SDK (everything else: @opentelemetry/api)', () => {
    const breaches = ['src', 'gen'].flatMap((dir) => sources(join(root, dir))).flatMap((file) => {
      const name = relative(root, file);
      return importsOf(file).flatMap((spec) => {
        if (spec.startsWith('.') && spec.includes('/telemetry/') && !name.startsWith('src/telemetry/') && !entryPoints.includes(name)) return [`${name} imports ${spec}`];
        if (sdk.test(spec) && !name.startsWith('src/telemetry/')) return [`${name} imports ${spec}`];
        return [];
      });
    });
    expect(breaches).toEqual([]);
    expect(importsOf(join(root, 'src/telemetry/startSdk.ts'))).toContain('@opentelemetry/sdk-node');
  });

  it('finds the imports it checks (the scan itself works)', () => {
    const imports = importsOf(join(root, 'src/domain/Hub.ts'));
    expect(imports).toContain('./Room.js');
  });
});
