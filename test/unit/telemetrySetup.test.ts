import { describe, expect, it } from '@jest/globals';
import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { SERVER_SPAN_BATCHING, startTelemetry, TelemetryConfigError, telemetryConfigured, withDefaults } from '../../src/telemetry/startTelemetry.js';
import { SyncContextManager } from '../../src/telemetry/SyncContextManager.js';

describe('telemetryConfigured: only the standard OTEL_* variables turn it on', () => {
  it.each([
    [{}, false],
    [{ OTEL_SERVICE_NAME: 'x' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://localhost:4318/v1/metrics' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'TRUE ' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'false' }, true],
  ])('%j → %s', (env, on) => {
    expect(telemetryConfigured(env)).toBe(on);
  });

  it('off, startTelemetry does nothing and loads nothing', async () => {
    expect(await startTelemetry({}, 'test')).toBeUndefined();
  });

  it.each(['localhost:4318', 'ftp://collector', 'not a url'])('an endpoint that is not http(s) (%s) is refused with a message naming it', async (value) => {
    const started = startTelemetry({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: value }, 'test');
    await expect(started).rejects.toThrow(TelemetryConfigError);
    await expect(started).rejects.toThrow(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="${value}"`);
  });
});

describe('the server’s span batching defaults: the standard OTEL_BSP_* variables still win', () => {
  it('fills in what the environment leaves unset or blank, and keeps what it sets', () => {
    const env = withDefaults({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64', OTEL_BSP_SCHEDULE_DELAY: ' ' }, SERVER_SPAN_BATCHING);
    expect(env).toEqual({ OTEL_BSP_MAX_QUEUE_SIZE: '16384', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64', OTEL_BSP_SCHEDULE_DELAY: '1000' });
  });

  it('sizes the export batch within the queue (the SDK would cut it down to the queue otherwise)', () => {
    expect(Number(SERVER_SPAN_BATCHING.OTEL_BSP_MAX_EXPORT_BATCH_SIZE)).toBeLessThanOrEqual(Number(SERVER_SPAN_BATCHING.OTEL_BSP_MAX_QUEUE_SIZE));
  });
});

describe('SyncContextManager', () => {
  const key = createContextKey('test');
  const a = ROOT_CONTEXT.setValue(key, 'a');
  const b = ROOT_CONTEXT.setValue(key, 'b');

  it('with() makes a context active for the call and restores the one before, also when it throws', () => {
    const m = new SyncContextManager();
    expect(m.active()).toBe(ROOT_CONTEXT);
    m.with(a, () => {
      expect(m.active().getValue(key)).toBe('a');
      m.with(b, () => expect(m.active().getValue(key)).toBe('b'));
      expect(m.active().getValue(key)).toBe('a');
      expect(() => m.with(b, () => {
        throw new Error('boom');
      })).toThrow('boom');
      expect(m.active().getValue(key)).toBe('a');
    });
    expect(m.active()).toBe(ROOT_CONTEXT);
  });

  it('passes this and arguments through, and returns the result', () => {
    const m = new SyncContextManager();
    const self = { n: 2 };
    expect(m.with(a, function (this: typeof self, x: number) {
      return this.n * x;
    }, self, 21)).toBe(42);
  });

  it('bind() runs a function in its context whenever it is called; other values come back as they are', () => {
    const m = new SyncContextManager();
    const bound = m.bind(a, () => m.active().getValue(key));
    expect(bound()).toBe('a');
    expect(m.with(b, () => bound())).toBe('a');
    const emitter = { on: () => {} };
    expect(m.bind(a, emitter)).toBe(emitter);
  });

  it('does not follow awaits (what the server relies on passing contexts explicitly for)', async () => {
    const m = new SyncContextManager();
    const seen = await m.with(a, async () => {
      await Promise.resolve();
      return m.active();
    });
    expect(seen).toBe(ROOT_CONTEXT);
  });
});
