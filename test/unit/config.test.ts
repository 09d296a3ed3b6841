import { availableParallelism } from 'node:os';
import { describe, expect, it } from '@jest/globals';
import { defaultLimits, type Limits } from '../../src/domain/limits.js';
import { ConfigError, loadConfig, usage, type ServerConfig } from '../../src/server/config.js';
import { AUTH_VARIABLES } from '../../src/server/authConfig.js';
import { settings } from '../../src/server/settings.js';

/** loadConfig for a run that is not --help. */
function load(env: Record<string, string> = {}, argv: string[] = []): ServerConfig {
  const config = loadConfig(env, argv);
  if (config === 'help') throw new Error('unexpected help');
  return config;
}

/** What loadConfig threw, asserting that it is a ConfigError. */
function configError(env: Record<string, string>, argv: string[] = []): ConfigError {
  let error: unknown;
  try {
    loadConfig(env, argv);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

/** Where a setting's value lands in the config (a 0/1 setting lands as a boolean). */
function valueOf(config: ServerConfig, key: string): number {
  if (key in config.limits) return config.limits[key as keyof Limits];
  return Number((config as unknown as Record<string, number | boolean>)[key]);
}

const MIB = 1024 * 1024;
/** More than one worker needs a backplane to share rooms through. */
const BACKPLANE: Record<string, string> = { CHAT_NATS_URL: 'nats://127.0.0.1:4222' };
// Queues as large as allowed, histories as small as allowed, and the backpressure
// marks and times as far apart as allowed, so that any one setting can be taken to
// its min or max without tripping the consistency checks.
const ROOMY: Record<string, string> = {
  CHAT_QUEUE_EVENTS: '100000000',
  CHAT_QUEUE_BYTES: String(4096 * MIB),
  CHAT_QUEUE_HIGH_WATER_BYTES: String(1024 * MIB),
  CHAT_QUEUE_LOW_WATER_BYTES: '0',
  CHAT_QUEUE_BUDGET_BYTES: String(64 * 1024 * MIB),
  CHAT_STALL_GRACE_MS: '10',
  CHAT_WRITE_DEADLINE_MS: String(2 * 3_600_000),
  CHAT_HISTORY_EVENTS: '0',
  CHAT_MAX_JOIN_HISTORY: '0',
  CHAT_HISTORY_BYTES: '0',
  ...BACKPLANE,
};
/** A stream's bound and the budget at their minimum need the marks under them. */
const SMALL_QUEUES: Record<string, string> = { CHAT_QUEUE_BYTES: String(16 * 1024), CHAT_QUEUE_HIGH_WATER_BYTES: '1024', CHAT_QUEUE_LOW_WATER_BYTES: '0' };
const roomy = (env: string) => (env === 'CHAT_QUEUE_BYTES' || env === 'CHAT_QUEUE_BUDGET_BYTES' ? { ...ROOMY, ...SMALL_QUEUES } : ROOMY);

const cases = settings.map((s) => [s.env, s] as const);

describe('loadConfig', () => {
  it('with nothing set, uses the documented defaults', () => {
    const config = load();
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(50051);
    expect(config.logLevel).toBe('info');
    expect(config.limits).toEqual(defaultLimits);
    for (const s of settings) expect(valueOf(config, s.key)).toBe(s.default);
  });

  it('reads CHAT_NATS_URL as a list of NATS servers; unset or empty means no backplane', () => {
    expect(load({}).natsServers).toBeUndefined();
    expect(load({ CHAT_NATS_URL: ' ' }).natsServers).toBeUndefined();
    expect(load({ CHAT_NATS_URL: 'nats://10.0.0.1:4222, nats://10.0.0.2:4222,localhost:4223' }).natsServers).toEqual(['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222', 'localhost:4223']);
  });

  it('refuses a CHAT_NATS_URL that is not a list of NATS servers, naming the bad entry', () => {
    expect(() => load({ CHAT_NATS_URL: 'nats://a:4222,,nats://b:4222' })).toThrow('CHAT_NATS_URL="nats://a:4222,,nats://b:4222" is not a list of NATS servers: "" is not nats://host:port');
    expect(() => load({ CHAT_NATS_URL: 'http://a:4222' })).toThrow('"http://a:4222" is not nats://host:port');
  });

  it('treats an empty variable as unset', () => {
    const env = Object.fromEntries(settings.map((s) => [s.env, '']));
    const config = load({ ...env, CHAT_LOG_LEVEL: '' });
    for (const s of settings) expect(valueOf(config, s.key)).toBe(s.default);
    expect(config.logLevel).toBe('info');
  });

  it('treats an empty CHAT_GRPC_HOST as unset, like every other variable', () => {
    expect(load({ CHAT_GRPC_HOST: '' }).host).toBe('0.0.0.0');
  });

  it('the defaults pass the queue-versus-history checks', () => {
    expect(defaultLimits.queueEvents).toBeGreaterThan(defaultLimits.historyEvents + defaultLimits.maxJoinHistory);
    expect(defaultLimits.queueBytes).toBeGreaterThan(2 * defaultLimits.historyBytes);
  });

  it('every setting has a default within its own bounds', () => {
    for (const s of settings) {
      expect(s.min).toBeLessThanOrEqual(s.default);
      expect(s.default).toBeLessThanOrEqual(s.max);
    }
  });

  it('each setting has its own variable', () => {
    expect(new Set(settings.map((s) => s.env)).size).toBe(settings.length);
    expect(new Set(settings.map((s) => s.key)).size).toBe(settings.length);
    for (const s of settings) expect(s.env).toMatch(/^CHAT_[A-Z_]+$/);
  });

  it('every limit the domain enforces has a setting', () => {
    const keys = new Set(settings.map((s) => s.key as string));
    for (const key of Object.keys(defaultLimits)) expect(keys).toContain(key);
  });

  it.each(cases)('reads %s', (env, s) => {
    const value = s.default + 1 <= s.max ? s.default + 1 : s.default - 1;
    const config = load({ ...BACKPLANE, [env]: String(value) });
    expect(valueOf(config, s.key)).toBe(value);
    // Only that setting changed.
    for (const other of settings) if (other !== s) expect(valueOf(config, other.key)).toBe(other.default);
  });

  it.each(cases)('%s accepts its minimum and its maximum', (env, s) => {
    expect(valueOf(load({ ...roomy(env), [env]: String(s.min) }), s.key)).toBe(s.min);
    expect(valueOf(load({ ...roomy(env), [env]: String(s.max) }), s.key)).toBe(s.max);
  });

  it.each(cases)('%s accepts surrounding whitespace', (env, s) => {
    expect(valueOf(load({ ...roomy(env), [env]: ` ${s.max} ` }), s.key)).toBe(s.max);
  });

  it.each(cases)('%s refuses a bad value with a ConfigError naming the variable, the value and the range', (env, s) => {
    const bad = ['abc', '-1', '1.5', '1e3', '0x10', '+5', '12abc', String(s.max + 1), '99999999999999999999'];
    if (s.min > 0) bad.push(String(s.min - 1));
    for (const value of bad) {
      const error = configError({ ...roomy(env), [env]: value });
      expect(error.name).toBe('ConfigError');
      expect(error.message).toContain(env);
      expect(error.message).toContain(`"${value}"`);
      expect(error.message).toContain(`from ${s.min} to ${s.max}`);
    }
  });

  it('reads CHAT_GRPC_HOST and CHAT_LOG_LEVEL', () => {
    const config = load({ CHAT_GRPC_HOST: '127.0.0.1', CHAT_LOG_LEVEL: 'debug' });
    expect(config.host).toBe('127.0.0.1');
    expect(config.logLevel).toBe('debug');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      expect(load({ CHAT_LOG_LEVEL: level }).logLevel).toBe(level);
    }
  });

  it('refuses an unknown log level, naming the variable, the value and the choices', () => {
    const error = configError({ CHAT_LOG_LEVEL: 'loud' });
    expect(error.message).toContain('CHAT_LOG_LEVEL');
    expect(error.message).toContain('"loud"');
    expect(error.message).toContain('debug');
  });

  it('refuses a host that is blank or holds whitespace', () => {
    for (const host of [' ', 'local host', 'host\n']) {
      const error = configError({ CHAT_GRPC_HOST: host });
      expect(error.message).toContain('CHAT_GRPC_HOST');
      expect(error.message).toContain(`"${host}"`);
    }
    expect(configError({}, ['--host', 'a b']).message).toContain('--host');
  });

  it('--port and --host win over the environment', () => {
    const env = { CHAT_GRPC_PORT: '1234', CHAT_GRPC_HOST: '10.0.0.1' };
    const config = load(env, ['--port', '5678', '--host', '127.0.0.1']);
    expect(config.port).toBe(5678);
    expect(config.host).toBe('127.0.0.1');
    expect(load(env, ['--port=0']).port).toBe(0);
    expect(load(env, ['--host=::1']).host).toBe('::1');
    // Without flags, the environment applies.
    expect(load(env)).toMatchObject({ port: 1234, host: '10.0.0.1' });
  });

  it('a bad --port is a ConfigError naming the flag, even when the variable is fine', () => {
    const error = configError({ CHAT_GRPC_PORT: '1234' }, ['--port', '70000']);
    expect(error.message).toContain('--port');
    expect(error.message).toContain('"70000"');
    expect(error.message).toContain('from 0 to 65535');
    expect(error.message).not.toContain('CHAT_GRPC_PORT');
  });

  it('a --port or --host flag given with no value is refused, not taken as unset', () => {
    expect(configError({}, ['--host=']).message).toContain('--host');
    const error = configError({}, ['--port=']);
    expect(error.message).toContain('--port');
    expect(error.message).toContain('from 0 to 65535');
  });

  it('--help and -h ask for the usage text, whatever else is set', () => {
    expect(loadConfig({}, ['--help'])).toBe('help');
    expect(loadConfig({}, ['-h'])).toBe('help');
    // Help does not trip over a bad value elsewhere.
    expect(loadConfig({ CHAT_GRPC_PORT: 'nope' }, ['--port', '1', '--help'])).toBe('help');
  });

  it('refuses unknown flags and positional arguments', () => {
    expect(() => loadConfig({}, ['--prot', '1'])).toThrow();
    expect(() => loadConfig({}, ['serve'])).toThrow();
  });

  describe('workers', () => {
    it('--workers wins over CHAT_WORKERS, and a bad flag is named as the flag', () => {
      expect(load({ ...BACKPLANE, CHAT_WORKERS: '3' }, ['--workers', '2']).workers).toBe(2);
      expect(load({ ...BACKPLANE, CHAT_WORKERS: '3' }).workers).toBe(3);
      const error = configError({ CHAT_WORKERS: '2' }, ['--workers', '65']);
      expect(error.message).toBe('--workers="65" is not allowed: expected a whole number from 1 to 64, or auto');
    });

    it('auto is one per core, up to the maximum', () => {
      expect(load(BACKPLANE, ['--workers', 'auto']).workers).toBe(Math.min(availableParallelism(), 64));
      expect(load(BACKPLANE, ['--workers', 'auto']).workers).toBe(load({ ...BACKPLANE, CHAT_WORKERS: ' auto ' }).workers);
    });

    it('more than one without CHAT_NATS_URL is refused, naming both; one needs none', () => {
      expect(configError({ CHAT_WORKERS: '2' }).message).toMatch(/^CHAT_WORKERS=2 needs CHAT_NATS_URL /);
      expect(configError({ CHAT_NATS_URL: ' ' }, ['--workers=4']).message).toMatch(/^--workers=4 needs CHAT_NATS_URL /);
      expect(load({}, ['--workers', '1']).workers).toBe(1);
      if (availableParallelism() > 1) expect(configError({}, ['--workers', 'auto']).message).toMatch(/^--workers=auto \(\d+ cores\) needs CHAT_NATS_URL /);
    });
  });

  describe('backpressure marks and times', () => {
    it('refuses a low-water mark at or over the high-water mark, and a high-water mark at or over the stream bound', () => {
      expect(configError({ CHAT_QUEUE_LOW_WATER_BYTES: String(256 * 1024) }).message).toContain('CHAT_QUEUE_LOW_WATER_BYTES=262144');
      expect(load({ CHAT_QUEUE_LOW_WATER_BYTES: String(256 * 1024 - 1) }).limits.queueLowWaterBytes).toBe(256 * 1024 - 1);
      expect(configError({ CHAT_QUEUE_HIGH_WATER_BYTES: String(16 * MIB) }).message).toContain('CHAT_QUEUE_BYTES=16777216');
      expect(load({ CHAT_QUEUE_HIGH_WATER_BYTES: String(16 * MIB - 1) }).limits.queueHighWaterBytes).toBe(16 * MIB - 1);
    });

    it('refuses a stall grace that is not shorter than the write deadline', () => {
      const error = configError({ CHAT_STALL_GRACE_MS: '10000' });
      expect(error.message).toContain('CHAT_STALL_GRACE_MS=10000');
      expect(error.message).toContain('CHAT_WRITE_DEADLINE_MS=10000');
      expect(load({ CHAT_STALL_GRACE_MS: '9999' }).limits.stallGraceMs).toBe(9999);
    });

    it('refuses a queue budget smaller than one stream’s bound', () => {
      const error = configError({ CHAT_QUEUE_BUDGET_BYTES: String(16 * MIB - 1) });
      expect(error.message).toContain('CHAT_QUEUE_BUDGET_BYTES=16777215');
      expect(error.message).toContain('CHAT_QUEUE_BYTES=16777216');
      expect(load({ CHAT_QUEUE_BUDGET_BYTES: String(16 * MIB) }).limits.queueBudgetBytes).toBe(16 * MIB);
    });
  });

  describe('queue-versus-history consistency', () => {
    it('CHAT_QUEUE_EVENTS must be more than CHAT_HISTORY_EVENTS + CHAT_MAX_JOIN_HISTORY', () => {
      const env = { CHAT_HISTORY_EVENTS: '1000', CHAT_MAX_JOIN_HISTORY: '200' };
      const error = configError({ ...env, CHAT_QUEUE_EVENTS: '1200' });
      expect(error.message).toContain('CHAT_QUEUE_EVENTS=1200');
      expect(error.message).toContain('CHAT_HISTORY_EVENTS');
      expect(error.message).toContain('CHAT_MAX_JOIN_HISTORY');
      expect(error.message).toContain('1200');
      expect(load({ ...env, CHAT_QUEUE_EVENTS: '1201' }).limits.queueEvents).toBe(1201);
    });

    it('raising the history alone past the default queue is refused', () => {
      // The default queue takes 1,000,000 events; the default join history is 200.
      const error = configError({ CHAT_HISTORY_EVENTS: '999800' });
      expect(error.message).toContain('CHAT_QUEUE_EVENTS');
      expect(load({ CHAT_HISTORY_EVENTS: '999799' }).limits.historyEvents).toBe(999_799);
    });

    it('CHAT_QUEUE_BYTES must be more than twice CHAT_HISTORY_BYTES', () => {
      const env = { CHAT_HISTORY_BYTES: String(512 * 1024) };
      const error = configError({ ...env, CHAT_QUEUE_BYTES: String(1024 * 1024) });
      expect(error.message).toContain(`CHAT_QUEUE_BYTES=${1024 * 1024}`);
      expect(error.message).toContain('CHAT_HISTORY_BYTES');
      expect(load({ ...env, CHAT_QUEUE_BYTES: String(1024 * 1024 + 1) }).limits.queueBytes).toBe(1024 * 1024 + 1);
      // The default queue takes 16 MiB.
      expect(configError({ CHAT_HISTORY_BYTES: String(8 * 1024 * 1024) }).message).toContain('CHAT_QUEUE_BYTES');
      expect(load({ CHAT_HISTORY_BYTES: String(8 * 1024 * 1024 - 1) }).limits.historyBytes).toBe(8 * 1024 * 1024 - 1);
    });
  });
});

describe('usage', () => {
  const text = usage();

  it.each(cases)('lists %s with its default and meaning', (env, s) => {
    const line = text.split('\n').find((l) => l.trim().startsWith(`${env} `));
    expect(line).toBeDefined();
    expect(line).toContain(String(s.default));
    expect(line).toContain(s.doc);
  });

  it('lists the flags, the host and the log level', () => {
    for (const part of ['--host', '--port', '--workers', '--help', 'CHAT_GRPC_HOST', 'CHAT_LOG_LEVEL']) expect(text).toContain(part);
  });

  it('lists no variable that loadConfig does not read', () => {
    const listed = text.match(/\bCHAT_[A-Z0-9_]+/g) ?? [];
    const known = new Set([...settings.map((s) => s.env), 'CHAT_GRPC_HOST', 'CHAT_LOG_LEVEL', 'CHAT_NATS_URL', 'CHAT_TLS_CERT_FILE', 'CHAT_TLS_KEY_FILE', 'CHAT_TLS_CLIENT_CA_FILE', 'CHAT_TLS_REQUIRE_CLIENT_CERT', ...AUTH_VARIABLES]);
    for (const name of listed) expect(known).toContain(name);
  });
});
