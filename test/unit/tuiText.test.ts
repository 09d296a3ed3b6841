import { describe, expect, it } from '@jest/globals';
import stringWidth from 'string-width';
import { backoffDelay, defaultBackoff } from '../../src/client/backoff.js';
import { parseTuiArgs, UsageError, userIdFrom } from '../../src/tui/args.js';
import { parseCommand } from '../../src/tui/commands.js';
import { sanitize, sanitizeName } from '../../src/tui/sanitize.js';
import { cellWidth, fitEnd, fitWidth, wrapText } from '../../src/tui/wrapText.js';
import { clock } from '../../src/tui/clock.js';
import { stripControls } from '../../src/tui/stripControls.js';
import { firstRefused } from '../../src/lib/firstRefused.js';
import { characterKinds, specialCharacters } from '../../src/lib/specialCharacters.js';
import { checkContent, checkDisplayName } from '../../src/domain/text.js';
import { realText } from '../helpers/realText.js';

const ESC = '\x1b';
const FAMILY = '👨‍👩‍👧'; // three emoji joined by ZWJ (U+200D)

describe('sanitize', () => {
  it('turns escape sequences into visible control pictures, so none reaches the terminal', () => {
    const out = sanitize(`a${ESC}[2J${ESC}]0;title\x07b`);
    expect(out).not.toContain(ESC);
    expect(out).not.toContain('\x07');
    expect(out).toBe('a␛[2J␛]0;title␇b');
  });

  it('shows newline, tab and DEL as control pictures too', () => {
    expect(sanitize('a\nb\tc\x7f')).toBe('a␊b␉c␡');
  });

  it('replaces C1 controls (the one-byte CSI \\x9b) and bidi overrides with U+FFFD', () => {
    expect(sanitize('x\x9b2Jy')).toBe('x\uFFFD2Jy');
    expect(sanitize('abc\u202Edef')).toBe('abc\uFFFDdef');
    expect(sanitize('\u2066iso\u2069')).toBe('\uFFFDiso\uFFFD');
  });

  it('drops zero-width characters but keeps the zero-width joiner inside emoji sequences', () => {
    expect(sanitize('in\u200Bvisible\uFEFF')).toBe('invisible');
    expect(sanitize(`family ${FAMILY}`)).toBe(`family ${FAMILY}`);
  });

  it('replaces lone surrogates and keeps proper pairs', () => {
    expect(sanitize('a\uD800b\uDC00c')).toBe('a\uFFFDb\uFFFDc');
    expect(sanitize('ok 😀')).toBe('ok 😀');
  });

  it('leaves ordinary text, accents and CJK alone', () => {
    expect(sanitize('Zoë says 漢字 and «hi»')).toBe('Zoë says 漢字 and «hi»');
  });
});

describe("sanitize, tested against the server's check (one table for both)", () => {
  const u = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const everyCharacter = specialCharacters.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));

  it.each(realText)('shows %s unchanged, as content and as a name', (_what, text) => {
    expect(sanitize(text)).toBe(text);
    expect(sanitizeName(text, 1000)).toBe(text);
  });

  /** What sanitize shows is accepted by the server, but for the U+FFFD it puts in (and text that shows nothing, no danger to a terminal). */
  const acceptable = (field: 'content' | 'name', shown: string) => {
    const refused = firstRefused(shown, field);
    return refused === undefined || refused.codePoint === 0xfffd || refused.why === 'nothing in the text is visible';
  };

  it('never prints a character of the table as it is where the server refuses it', () => {
    for (const cp of everyCharacter.filter((cp) => cp !== 0xfffd)) { // U+FFFD is what sanitize shows instead
      const ch = String.fromCodePoint(cp);
      const holds = (shown: string) => [...shown].includes(ch); // by code point: a surrogate pair holds no lone surrogate
      for (const text of [`x${ch}y`, `🏴${ch}\u{e007f}`]) {
        if (checkContent(text, 1 << 20)?.includes(`${u(cp)}`)) expect({ text, shown: holds(sanitize(text)) }).toEqual({ text, shown: false });
        if (checkDisplayName(text, 1000)?.includes(`${u(cp)}`)) expect({ text, shown: holds(sanitizeName(text, 1000)) }).toEqual({ text, shown: false });
      }
      const run = `x${ch.repeat(6)}y`; // past the limit of invisible characters in a row, for those that count
      expect({ run, content: acceptable('content', sanitize(run)), name: acceptable('name', sanitizeName(run, 1000)) }).toEqual({ run, content: true, name: true });
    }
  });

  it("prints only text the server would accept, but for the U+FFFD it puts in, whatever mix it gets", () => {
    const pieces = [...everyCharacter.filter((_, i) => i % 7 === 0).map((cp) => String.fromCodePoint(cp)), ...'\u200d\u200c\ufe0f\u200b\u200e\u0301\u{e0067}\u{e007f}🏴a 漢', ...realText.map(([, t]) => t)];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      if (!acceptable('content', sanitize(text))) throw new Error(`sanitize(${JSON.stringify(text)}) = ${JSON.stringify(sanitize(text))}`);
      if (!acceptable('name', sanitizeName(text, 1000))) throw new Error(`sanitizeName(${JSON.stringify(text)}) = ${JSON.stringify(sanitizeName(text, 1000))}`);
    }
  });

  it('shows line and paragraph separators as U+FFFD, never passing them to the terminal', () => {
    expect(sanitize('one\u2028two\u2029three')).toBe('one\uFFFDtwo\uFFFDthree');
    expect(sanitizeName('Al\u2028ice')).toBe('Al\uFFFDice');
  });

  it('drops the invisible characters the server accepts in content, so that Ink and the terminal agree on widths', () => {
    expect(sanitize('Donau\u00addampf\u200bschiff\u2060!')).toBe('Donaudampfschiff!');
    expect(stringWidth(sanitize('a\u3164b'))).toBe(2);
  });

  it('shows what the server refuses in a name, but accepts in content, as U+FFFD in a name', () => {
    expect(sanitize('Alice\u200f')).toBe('Alice\u200f');
    expect(sanitizeName('Alice\u200f')).toBe('Alice\uFFFD');
    expect(sanitizeName('Al\u200bice')).toBe('Al\uFFFDice');
  });

  it('replaces what is past a limit: the fifth invisible character in a row, a badly formed tag sequence', () => {
    expect(sanitize(`a${'\ufe0f\u200d'.repeat(3)}b`)).toBe('a\ufe0f\u200d\ufe0f\u200d\uFFFD\uFFFDb');
    expect(sanitize('🏴\u{e0041}\u{e007f}')).toBe('🏴\uFFFD\uFFFD');
  });
});

describe('stripControls, tested against the server', () => {
  it.each(specialCharacters.map((r) => [`U+${r.from.toString(16).toUpperCase()} (${r.kind})`, r] as const))(
    '%s: typed text loses it if the server refuses it wherever it is, and keeps it otherwise',
    (_row, r) => {
      for (let cp = r.from; cp <= r.to; cp++) {
        const ch = String.fromCodePoint(cp);
        const strip = r.kind === 'control' || characterKinds[r.kind].refusedInContent;
        expect(stripControls(`a${ch}b`)).toBe(strip ? 'ab' : `a${ch}b`);
      }
    },
  );

  it('leaves typed real text as it is', () => {
    for (const [, text] of realText) expect(stripControls(text)).toBe(text);
  });
});

describe('sanitizeName', () => {
  it('sanitizes like sanitize', () => {
    expect(sanitizeName(`evil${ESC}[31m`)).toBe('evil␛[31m');
  });

  it('cuts a name longer than the maximum to that many characters, ending with an ellipsis', () => {
    const cut = sanitizeName('x'.repeat(40));
    expect([...cut]).toHaveLength(32);
    expect(cut.endsWith('…')).toBe(true);
    expect(sanitizeName('abcdefgh', 5)).toBe('abcd…');
    expect(sanitizeName('abcde', 5)).toBe('abcde');
  });

  it('counts an emoji as one character, not two UTF-16 units', () => {
    expect(sanitizeName('😀😀😀', 3)).toBe('😀😀😀');
  });
});

describe('cellWidth and fitWidth', () => {
  it('counts CJK as two columns each, and an emoji sequence as one wide character', () => {
    expect(cellWidth('漢字')).toBe(4);
    expect(cellWidth(FAMILY)).toBe(2);
    expect(cellWidth('abc')).toBe(3);
  });

  it('leaves text that fits alone and cuts the rest with an ellipsis, within the width', () => {
    expect(fitWidth('hello', 5)).toBe('hello');
    expect(fitWidth('hello world', 6)).toBe('hello…');
    expect(fitWidth('漢字漢字', 5)).toBe('漢字…');
    for (let width = 1; width <= 10; width++) {
      expect(cellWidth(fitWidth('漢字 and 👨‍👩‍👧 text', width))).toBeLessThanOrEqual(width);
    }
  });
});

describe('wrapText', () => {
  it('gives one empty line for empty text', () => {
    expect(wrapText('', 10)).toEqual(['']);
  });

  it('breaks after spaces where it can', () => {
    expect(wrapText('hello world foo', 7)).toEqual(['hello', 'world', 'foo']);
    expect(wrapText('short', 10)).toEqual(['short']);
  });

  it('breaks a word longer than the width inside the word', () => {
    expect(wrapText('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
  });

  it('counts CJK as two columns', () => {
    expect(wrapText('漢字漢字漢字', 5)).toEqual(['漢字', '漢字', '漢字']);
    expect(wrapText('漢字漢字漢字', 4)).toEqual(['漢字', '漢字', '漢字']);
  });

  it('never splits an emoji sequence', () => {
    expect(wrapText(FAMILY.repeat(3), 3)).toEqual([FAMILY, FAMILY, FAMILY]);
  });

  it('keeps every line within the width, whatever mix of spaces, CJK and emoji it gets', () => {
    // A run of spaces before wide characters once made a line wider than the width.
    expect(wrapText('abcde 漢字漢字', 5)).toEqual(['abcde', '漢字', '漢字']);
    const pieces = ['a', 'bc', ' ', '  ', '漢', '字', '👍', FAMILY, 'é', 'xyz'];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({ length: Math.floor(random() * 30) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      const width = 2 + Math.floor(random() * 12);
      const lines = wrapText(text, width);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        if (stringWidth(line) > width) throw new Error(`${JSON.stringify(text)} at width ${width} gave ${JSON.stringify(line)}`);
      }
      // Nothing but spaces is lost.
      expect(lines.join('').replace(/ /g, '')).toBe(text.replace(/ /g, ''));
    }
  });
});

describe('parseCommand', () => {
  it('reads a plain line as a message', () => {
    expect(parseCommand('hello there')).toEqual({ kind: 'send', text: 'hello there' });
  });

  it('sends "//text" as "/text"', () => {
    expect(parseCommand('//shrug')).toEqual({ kind: 'send', text: '/shrug' });
  });

  it('reads every command, and their aliases, case-insensitively', () => {
    expect(parseCommand('/join annex')).toEqual({ kind: 'join', room: 'annex' });
    expect(parseCommand('/JOIN annex extra')).toEqual({ kind: 'join', room: 'annex' });
    expect(parseCommand('/leave')).toEqual({ kind: 'leave', room: undefined });
    expect(parseCommand('/leave annex')).toEqual({ kind: 'leave', room: 'annex' });
    expect(parseCommand('/part annex')).toEqual({ kind: 'leave', room: 'annex' });
    expect(parseCommand('/rooms')).toEqual({ kind: 'rooms' });
    expect(parseCommand('/list')).toEqual({ kind: 'rooms' });
    expect(parseCommand('/who')).toEqual({ kind: 'who' });
    expect(parseCommand('/names')).toEqual({ kind: 'who' });
    expect(parseCommand('/help')).toEqual({ kind: 'help' });
    expect(parseCommand('/?')).toEqual({ kind: 'help' });
    expect(parseCommand('/quit')).toEqual({ kind: 'quit' });
    expect(parseCommand('/exit')).toEqual({ kind: 'quit' });
  });

  it('says how to use /join without a room', () => {
    expect(parseCommand('/join')).toEqual({ kind: 'invalid', message: 'usage: /join ROOM' });
    expect(parseCommand('/join   ')).toEqual({ kind: 'invalid', message: 'usage: /join ROOM' });
  });

  it('names an unknown command (sanitized) and points to /help', () => {
    expect(parseCommand('/frobnicate')).toEqual({ kind: 'invalid', message: 'unknown command /frobnicate: /help lists them' });
    const hostile = parseCommand(`/x${ESC}[2J`);
    expect(hostile.kind).toBe('invalid');
    expect(JSON.stringify(hostile)).not.toContain('\\u001b');
  });
});

describe('parseTuiArgs', () => {
  it('defaults to localhost:50051, no rooms, 50 messages of history, Ink mode', () => {
    expect(parseTuiArgs([], {})).toEqual({ servers: ['localhost:50051'], name: undefined, user: undefined, rooms: [], history: 50, plain: false, otel: false });
  });

  it('takes the server from CHAT_GRPC_HOST and CHAT_GRPC_PORT, and --server over both', () => {
    expect(parseTuiArgs([], { CHAT_GRPC_HOST: 'chat.example', CHAT_GRPC_PORT: '6000' })).toMatchObject({ servers: ['chat.example:6000'] });
    expect(parseTuiArgs([], { CHAT_GRPC_PORT: '6000' })).toMatchObject({ servers: ['localhost:6000'] });
    expect(parseTuiArgs(['--server', '10.0.0.1:7000'], { CHAT_GRPC_HOST: 'chat.example' })).toMatchObject({ servers: ['10.0.0.1:7000'] });
    expect(parseTuiArgs(['--server', '[::1]:50051'], {})).toMatchObject({ servers: ['[::1]:50051'] });
  });

  it('takes several servers, in order, from --server and from CHAT_GRPC_HOST, separated by commas, spaces trimmed', () => {
    expect(parseTuiArgs(['--server', 'a:1, b:2 ,[::1]:3'], {})).toMatchObject({ servers: ['a:1', 'b:2', '[::1]:3'] });
    // Hosts without a port get CHAT_GRPC_PORT; one with its own keeps it.
    expect(parseTuiArgs([], { CHAT_GRPC_HOST: 'a, b:7000', CHAT_GRPC_PORT: '6000' })).toMatchObject({ servers: ['a:6000', 'b:7000'] });
  });

  it.each([
    ['--server', ['--server', 'a:1,,b:2'], {}, '--server: the server address list "a:1,,b:2" has an empty entry (number 2 of 3)'],
    ['--server', ['--server', 'a:1,'], {}, '--server: the server address list "a:1," has an empty entry (number 2 of 2)'],
    ['--server', ['--server', ' '], {}, '--server: the server address list is empty'],
    ['CHAT_GRPC_HOST', [], { CHAT_GRPC_HOST: 'a, ,b' }, 'CHAT_GRPC_HOST: the server address list "a, ,b" has an empty entry (number 2 of 3)'],
    ['--server', ['--server', 'a:1,b'], {}, '--server must be HOST:PORT, not "b"'],
  ])('refuses a bad list in %s with a UsageError saying what is wrong: %j', (_from, argv, env, message) => {
    expect(() => parseTuiArgs(argv, env)).toThrow(new UsageError(message));
  });

  it('reads every option, --room repeatable', () => {
    expect(parseTuiArgs(['--name', 'Zoë', '--user', 'zoe', '--room', 'a', '--room', 'b', '--history', '0', '--plain', '--otel'], {})).toEqual({
      servers: ['localhost:50051'],
      name: 'Zoë',
      user: 'zoe',
      rooms: ['a', 'b'],
      history: 0,
      plain: true,
      otel: true,
    });
  });

  it.each([
    [['--history', 'lots']],
    [['--history', '-1']],
    [['--history', '1001']],
    [['--history', '2.5']],
    [['--server', 'no-port']],
    [['--server', 'host:port']],
    [['--server', 'two words:50051']],
    [['--unknown']],
    [['--room']],
  ])('refuses %j with a UsageError', (argv) => {
    expect(() => parseTuiArgs(argv, {})).toThrow(UsageError);
  });

  it('says what was wrong in the UsageError', () => {
    expect(() => parseTuiArgs(['--history', 'lots'], {})).toThrow('--history must be a whole number from 0 to 1000, not "lots"');
    expect(() => parseTuiArgs([], { CHAT_GRPC_HOST: 'bad host' })).toThrow('--server must be HOST:PORT');
  });

  it('answers help and version, before checking anything else', () => {
    expect(parseTuiArgs(['--help'], {})).toBe('help');
    expect(parseTuiArgs(['-h', '--history', 'bad'], {})).toBe('help');
    expect(parseTuiArgs(['--version'], {})).toBe('version');
    expect(parseTuiArgs(['-v'], {})).toBe('version');
  });
});

describe('userIdFrom', () => {
  it('makes a lower-case id without accents, spaces as dashes', () => {
    expect(userIdFrom('Zoë Li')).toBe('zoe-li');
    expect(userIdFrom('Ada_Lovelace.1815')).toBe('ada_lovelace.1815');
  });

  it('trims separators from the ends and caps the length at 32', () => {
    expect(userIdFrom('  --Ab--  ')).toBe('ab');
    expect(userIdFrom('x'.repeat(50))).toHaveLength(32);
  });

  it('falls back to "guest" when nothing usable is left', () => {
    expect(userIdFrom('!!! ???')).toBe('guest');
    expect(userIdFrom('漢字')).toBe('guest');
    expect(userIdFrom('')).toBe('guest');
  });
});

describe('backoffDelay', () => {
  const middle = () => 0.5; // no jitter either way

  it('waits about a second before the first retry, within ±20%', () => {
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(1);
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBeLessThanOrEqual(1200);
    }
    expect(backoffDelay(1, defaultBackoff, () => 0)).toBe(800);
    expect(backoffDelay(1, defaultBackoff, () => 0.999999)).toBe(1200);
  });

  it('grows each wait ×1.6', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, defaultBackoff, middle))).toEqual([1000, 1600, 2560, 4096]);
  });

  it('never waits more than 30 s, jitter included', () => {
    for (const attempt of [9, 10, 20, 100, 10_000]) {
      expect(backoffDelay(attempt, defaultBackoff, () => 0.999999)).toBeLessThanOrEqual(30_000);
      expect(backoffDelay(attempt, defaultBackoff, middle)).toBe(30_000);
    }
    for (let i = 0; i < 200; i++) expect(backoffDelay(50)).toBeLessThanOrEqual(30_000);
  });

  it('is deterministic given the random source', () => {
    const fixed = () => 0.25;
    expect(backoffDelay(3, defaultBackoff, fixed)).toBe(backoffDelay(3, defaultBackoff, fixed));
    expect(backoffDelay(3, defaultBackoff, fixed)).toBe(Math.round(2560 - 2560 * 0.2 * 0.5));
  });

  it('uses the options given', () => {
    const quick = { initialMs: 50, multiplier: 2, maxMs: 400, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, quick))).toEqual([50, 100, 200, 400, 400]);
  });
});

describe('review fixes: small helpers', () => {
  it('sanitize drops the Hangul fillers, which draw nothing; in a name, which may not hold them, they show as U+FFFD', () => {
    expect(sanitize('a\u3164b\u115fc\u1160d\uffa0e')).toBe('abcde');
    expect(sanitizeName('\u3164\u3164')).toBe('\uFFFD\uFFFD');
  });

  it('clock formats HH:MM, or HH:MM:SS, in local time', () => {
    const at = new Date(2024, 0, 1, 7, 5, 9).getTime();
    expect(clock(at)).toBe('07:05');
    expect(clock(at, true)).toBe('07:05:09');
  });

  it('stripControls removes C0, DEL and C1 controls from typed text', () => {
    expect(stripControls('a\u001b[Ab\u007fc\u009bd\te')).toBe('a[Abcde');
  });

  it('fitEnd keeps the end of the text, counting wide characters as two', () => {
    expect(fitEnd('hello', 5)).toBe('hello');
    expect(fitEnd('hello world', 6)).toBe('…world');
    expect(fitEnd('日本語テキスト', 7)).toBe('…キスト');
  });
});
