import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ServerProcess } from '../helpers/serverProcess.js';

const preload = fileURLToPath(new URL('../fixtures/listLoadedModules.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'chat-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the server (npm start's command), lets it serve, stops it with SIGTERM, and returns the modules it loaded. */
async function modulesLoaded(env: Record<string, string>): Promise<string[]> {
  const file = join(dir, `modules-${Object.keys(env).length}.txt`);
  const server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { NODE_OPTIONS: `--require ${preload}`, LOADED_MODULES_FILE: file, ...env });
  try {
    await server.port();
    server.child.kill('SIGTERM');
    expect((await server.waitExit()).code).toBe(0);
  } finally {
    await server.kill();
  }
  return readFileSync(file, 'utf8').split('\n');
}

const sdk = /node_modules\/@opentelemetry\/(sdk-|exporter-|otlp-|resources|instrumentation)/;

describe('telemetry off costs nothing', () => {
  it('without an OTLP endpoint no OpenTelemetry module but its API is loaded', async () => {
    const loaded = await modulesLoaded({});
    expect(loaded.filter((path) => /node_modules\/(@opentelemetry\/(?!api\/)|nice-grpc-opentelemetry\/)/.test(path))).toEqual([]);
    expect(loaded.some((path) => path.includes('node_modules/@opentelemetry/api/'))).toBe(true);
    // The check can see modules at all: the gRPC stack is there.
    expect(loaded.some((path) => path.includes('node_modules/@grpc/grpc-js/'))).toBe(true);
  });

  it('with OTEL_SDK_DISABLED=true the SDK stays unloaded even with an endpoint', async () => {
    const loaded = await modulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' });
    expect(loaded.filter((path) => sdk.test(path))).toEqual([]);
  });

  it('with an endpoint the SDK and its OTLP exporters are loaded (the check would see them); an unreachable collector delays exit by at most 3 s', async () => {
    const started = Date.now();
    // Port 9 (discard) on this machine: nothing listens, every export fails.
    const loaded = await modulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '60000' });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(loaded.some((path) => path.includes('node_modules/@opentelemetry/sdk-node/'))).toBe(true);
    expect(loaded.some((path) => /node_modules\/@opentelemetry\/exporter-trace-otlp-/.test(path))).toBe(true);
  });
});
