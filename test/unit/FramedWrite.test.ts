import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { FramedWrite, VERIFIED_GRPC_JS } from '../../src/server/FramedWrite.js';
import { frameMessages, frameWrites, isFramed } from '../../src/server/frameMessages.js';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
type Serialize = (this: unknown, value: unknown) => Buffer;
const proto = () =>
  (require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall: { prototype: { serializeMessage: Serialize } } })
    .BaseServerInterceptingCall.prototype;

/** Splits bytes read off a response stream into its gRPC messages. */
function messages(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    expect(bytes[at]).toBe(0); // not compressed
    const length = bytes.readUInt32BE(at + 1);
    out.push(bytes.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

describe('the grpc-js hook for framed writes', () => {
  it('is checked against exactly the grpc-js range package.json asks for (re-check the internals when it changes)', () => {
    expect(pkg.dependencies['@grpc/grpc-js']).toBe(VERIFIED_GRPC_JS);
    const installed = (require('@grpc/grpc-js/package.json') as { version: string }).version;
    expect(installed.startsWith(`${VERIFIED_GRPC_JS}.`)).toBe(true);
  });

  it('finds the internals it relies on in the installed grpc-js', () => {
    // If this fails, grpc-js changed how it frames and writes a response: read
    // BaseServerInterceptingCall.sendMessage again before changing FramedWrite.
    expect(FramedWrite.check()).toBeUndefined();
    expect(FramedWrite.install()).toBeUndefined();
    expect(FramedWrite.active).toBe(true);
    expect(FramedWrite.install()).toBeUndefined(); // once is enough; twice is harmless
  });

  it('leaves every other value framed by grpc-js as before: a 5-byte header, then the message', () => {
    FramedWrite.install();
    const call = { handler: { serialize: (value: Buffer) => value } };
    const framed = proto().serializeMessage.call(call, Buffer.from('abc'));
    expect([...framed]).toEqual([0, 0, 0, 0, 3, 97, 98, 99]);
  });

  it('passes a FramedWrite through as it is, and says when grpc-js starts writing it', () => {
    FramedWrite.install();
    let started = 0;
    const bytes = frameMessages([Buffer.from('one'), Buffer.from('two')]);
    const call = { handler: { serialize: () => Buffer.from('never') } };
    const out = proto().serializeMessage.call(call, new FramedWrite(bytes, () => (started += 1)));
    expect(out).toBe(bytes);
    expect(started).toBe(1);
    expect(messages(out).map(String)).toEqual(['one', 'two']);
  });
});

describe('frameMessages and frameWrites', () => {
  const event = (text: string) => Buffer.from(`\x12${String.fromCharCode(text.length)}${text}`); // a ServerEvent: field 2, length-delimited

  it('frames each event and copies framed runs as they are, in order', () => {
    const run = frameMessages([event('b'), event('c')]);
    expect(isFramed(run)).toBe(true);
    expect(isFramed(event('a'))).toBe(false);
    const out = frameMessages([event('a'), run, event('d')]);
    expect(messages(out)).toEqual([event('a'), event('b'), event('c'), event('d')]);
  });

  it('hands a single framed run back shared, not copied', () => {
    const run = frameMessages([event('a'), event('b')]);
    expect(frameMessages([run])).toBe(run);
  });

  it('cuts writes at maxBytes counting headers, and lets one bigger part go alone', () => {
    const parts = ['aaaa', 'bbbb', 'cccc', 'x'.repeat(40), 'dd'].map(event);
    // Framed sizes: 11, 11, 11, 47, 9.
    const writes = frameWrites(parts, 22);
    expect(writes.map((w) => w.length)).toEqual([22, 11, 47, 9]);
    expect(writes.flatMap(messages)).toEqual(parts);
    expect(frameWrites(parts, 1000)).toHaveLength(1);
  });
});
