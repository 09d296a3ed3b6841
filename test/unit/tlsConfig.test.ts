import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { readClientTls } from '../../src/client/ClientTls.js';
import { ConfigError, loadConfig, usage, type ServerConfig } from '../../src/server/config.js';
import { parseTuiArgs, UsageError } from '../../src/tui/args.js';
import { TestCertificates } from '../helpers/TestCertificates.js';

const certs = new TestCertificates();
const ca = certs.ca();
const server = certs.server(ca);
const stranger = certs.server(certs.ca('Other CA'));
const garbage = join(certs.dir, 'garbage.pem');
writeFileSync(garbage, 'not a certificate\n');
afterAll(() => certs.remove());

const TLS = { CHAT_TLS_CERT_FILE: server.certFile, CHAT_TLS_KEY_FILE: server.keyFile };

function load(env: Record<string, string>): ServerConfig {
  const config = loadConfig(env, []);
  if (config === 'help') throw new Error('unexpected help');
  return config;
}

function refusal(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('TLS settings', () => {
  it('are off by default, and empty variables count as unset', () => {
    expect(load({}).tls).toBeUndefined();
    expect(load({ CHAT_TLS_CERT_FILE: ' ', CHAT_TLS_KEY_FILE: '', CHAT_TLS_CLIENT_CA_FILE: '', CHAT_TLS_REQUIRE_CLIENT_CERT: '' }).tls).toBeUndefined();
  });

  it('read the certificate, key, client CA and whether client certificates are required', () => {
    expect(load(TLS).tls).toEqual({ certFile: server.certFile, keyFile: server.keyFile, clientCaFile: undefined, requireClientCert: false });
    expect(load({ ...TLS, CHAT_TLS_CLIENT_CA_FILE: ca.certFile, CHAT_TLS_REQUIRE_CLIENT_CERT: '1' }).tls).toEqual({
      certFile: server.certFile,
      keyFile: server.keyFile,
      clientCaFile: ca.certFile,
      requireClientCert: true,
    });
  });

  it('need both the certificate and the key', () => {
    expect(refusal({ CHAT_TLS_CERT_FILE: server.certFile })).toBe(`TLS needs both CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE: CHAT_TLS_CERT_FILE="${server.certFile}" is set, CHAT_TLS_KEY_FILE is not`);
    expect(refusal({ CHAT_TLS_KEY_FILE: server.keyFile })).toBe(`TLS needs both CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE: CHAT_TLS_KEY_FILE="${server.keyFile}" is set, CHAT_TLS_CERT_FILE is not`);
  });

  it('refuse client-certificate settings without TLS, and a requirement without a CA', () => {
    expect(refusal({ CHAT_TLS_CLIENT_CA_FILE: ca.certFile })).toBe('CHAT_TLS_CLIENT_CA_FILE needs TLS: set CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE too');
    expect(refusal({ CHAT_TLS_REQUIRE_CLIENT_CERT: '1' })).toBe('CHAT_TLS_REQUIRE_CLIENT_CERT=1 needs TLS: set CHAT_TLS_CERT_FILE and CHAT_TLS_KEY_FILE too');
    expect(refusal({ ...TLS, CHAT_TLS_REQUIRE_CLIENT_CERT: '1' })).toMatch(/^CHAT_TLS_REQUIRE_CLIENT_CERT=1 needs CHAT_TLS_CLIENT_CA_FILE/);
    expect(refusal({ ...TLS, CHAT_TLS_REQUIRE_CLIENT_CERT: 'yes' })).toBe('CHAT_TLS_REQUIRE_CLIENT_CERT="yes" is not allowed: expected 0 or 1');
  });

  it('name a file that cannot be read', () => {
    const missing = join(certs.dir, 'missing.key');
    expect(refusal({ ...TLS, CHAT_TLS_KEY_FILE: missing })).toMatch(new RegExp(`^CHAT_TLS_KEY_FILE="${missing}" cannot be read: ENOENT`));
    expect(refusal({ ...TLS, CHAT_TLS_CLIENT_CA_FILE: certs.dir })).toMatch(/^CHAT_TLS_CLIENT_CA_FILE=".*" cannot be read: EISDIR/);
  });

  it('refuse files that are not a certificate and its key', () => {
    expect(refusal({ ...TLS, CHAT_TLS_CERT_FILE: garbage })).toMatch(/^CHAT_TLS_CERT_FILE=".*garbage.pem", CHAT_TLS_KEY_FILE=".*" are not a PEM certificate and its private key: /);
    expect(refusal({ ...TLS, CHAT_TLS_KEY_FILE: stranger.keyFile })).toMatch(/are not a PEM certificate and its private key: .*key values mismatch/);
  });

  it('are listed in --help', () => {
    for (const name of ['CHAT_TLS_CERT_FILE', 'CHAT_TLS_KEY_FILE', 'CHAT_TLS_CLIENT_CA_FILE', 'CHAT_TLS_REQUIRE_CLIENT_CERT']) expect(usage()).toContain(name);
  });
});

describe('readClientTls', () => {
  it('reads the CA and the client certificate and key', () => {
    const tls = readClientTls({ caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile });
    expect(tls.ca?.toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(tls.key?.toString()).toMatch(/PRIVATE KEY-----/);
  });

  it('names a file that cannot be read, and a certificate without its key', () => {
    expect(() => readClientTls({ caFile: join(certs.dir, 'nope.pem') })).toThrow(/^the CA file ".*nope.pem" cannot be read: ENOENT/);
    expect(() => readClientTls({ certFile: server.certFile })).toThrow(`a client certificate ("${server.certFile}") needs its key too`);
    expect(() => readClientTls({ keyFile: server.keyFile })).toThrow(`a client key ("${server.keyFile}") needs its certificate too`);
  });
});

describe('chat-tui TLS flags', () => {
  const alice = certs.client(ca, '/CN=alice');

  it('are off by default; --tls alone trusts the system CAs', () => {
    expect(parseTuiArgs([], {})).not.toHaveProperty('tls');
    expect(parseTuiArgs(['--tls'], {})).toMatchObject({ tls: { ca: undefined, cert: undefined, key: undefined } });
  });

  it('--ca reads the CA and implies --tls; --cert/--key read the client certificate, whose CN is the default user', () => {
    const options = parseTuiArgs(['--ca', ca.certFile, '--cert', alice.certFile, '--key', alice.keyFile], {});
    if (typeof options === 'string') throw new Error('unexpected');
    expect(options.tls?.ca?.equals(readFileSync(ca.certFile))).toBe(true);
    expect(options.tls?.cert?.equals(readFileSync(alice.certFile))).toBe(true);
    expect(options.user).toBe('alice');
    expect(parseTuiArgs(['--ca', ca.certFile, '--cert', alice.certFile, '--key', alice.keyFile, '--user', 'al'], {})).toMatchObject({ user: 'al' });
  });

  it('refuse --cert without --key, and name a file that cannot be read', () => {
    expect(() => parseTuiArgs(['--cert', alice.certFile], {})).toThrow(new UsageError('--cert and --key go together (a client certificate and its private key)'));
    expect(() => parseTuiArgs(['--ca', join(certs.dir, 'none.pem')], {})).toThrow(/^the CA file ".*none.pem" cannot be read: ENOENT/);
  });
});
