import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { tokenClaims } from '../../src/client/tokenClaims.js';
import { parseTuiArgs, type TuiOptions, UsageError } from '../../src/tui/args.js';

const dir = mkdtempSync(join(tmpdir(), 'chat-tui-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
const token = (argv: string[], env: NodeJS.ProcessEnv = {}) => (parseTuiArgs(argv, env) as TuiOptions).token;

describe('chat-tui --token, --token-file, CHAT_TOKEN', () => {
  it('takes --token, else CHAT_TOKEN, else none', () => {
    expect(token(['--token', ' abc '])).toBe('abc');
    expect(token([], { CHAT_TOKEN: 'from-env' })).toBe('from-env');
    expect(token(['--token', 'flag'], { CHAT_TOKEN: 'from-env' })).toBe('flag');
    expect(token([], { CHAT_TOKEN: '' })).toBeUndefined();
  });

  it('reads --token-file at each use, so a rewritten file gives the new token', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'first\n');
    const source = token(['--token-file', file]) as () => string;
    expect(source()).toBe('first');
    writeFileSync(file, 'second\n');
    expect(source()).toBe('second');
  });

  it('refuses an empty --token, a missing or empty file, and both flags at once', () => {
    expect(() => token(['--token', ' '])).toThrow(new UsageError('--token is empty'));
    expect(() => token(['--token-file', join(dir, 'missing')])).toThrow(/--token-file: ENOENT/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => token(['--token-file', join(dir, 'empty')])).toThrow(/--token-file: .*empty is empty/);
    expect(() => token(['--token', 'a', '--token-file', join(dir, 'empty')])).toThrow(/both given/);
  });
});

describe('tokenClaims (unverified)', () => {
  it('reads exp (as ms), sub and name', () => {
    expect(tokenClaims(jwt({ exp: 1700000000, sub: 'alice', name: 'Alice' }))).toEqual({ expiresAt: 1700000000000, subject: 'alice', name: 'Alice' });
  });

  it('gives nothing for what is not a JWT or claims of the wrong type', () => {
    expect(tokenClaims('opaque-token')).toEqual({});
    expect(tokenClaims('a.!!!.c')).toEqual({});
    expect(tokenClaims(jwt({ exp: '1700000000', sub: 7, name: '' }))).toEqual({ expiresAt: undefined, subject: undefined, name: undefined });
  });
});
