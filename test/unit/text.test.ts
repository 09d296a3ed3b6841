import { describe, expect, it } from '@jest/globals';
import { checkContent, checkDisplayName, checkRoom, checkUserId } from '../../src/domain/text.js';
import { characterKinds, specialCharacters } from '../../src/lib/specialCharacters.js';
import { textLimits } from '../../src/lib/textLimits.js';
import { realText } from '../helpers/realText.js';

const ESC = '\x1b';
/** Characters a terminal could interpret or that disguise text; refused in every field. */
const HOSTILE: Array<[string, string]> = [
  ['NUL', '\x00'],
  ['BEL', '\x07'],
  ['backspace', '\x08'],
  ['vertical tab', '\x0b'],
  ['form feed', '\x0c'],
  ['carriage return', '\r'],
  ['ESC', ESC],
  ['ANSI colour sequence', `${ESC}[31m`],
  ['OSC title sequence', `${ESC}]0;pwned\x07`],
  ['unit separator', '\x1f'],
  ['DEL', '\x7f'],
  ['C1 NEL', '\u0085'],
  ['C1 CSI', '\u009b'],
  ['C1 APC', '\u009f'],
  ['right-to-left override', '\u202e'],
  ['left-to-right embedding', '\u202a'],
  ['pop directional formatting', '\u202c'],
  ['right-to-left isolate', '\u2067'],
  ['pop directional isolate', '\u2069'],
  ['line separator', '\u2028'],
  ['paragraph separator', '\u2029'],
  ['replacement character (bytes that were not UTF-8)', '\ufffd'],
];
/** Direction marks and invisible characters: real text uses them, so content may hold them; names, room names and user ids may not. */
const MARKS_AND_INVISIBLE: Array<[string, string]> = [
  ['right-to-left mark', '\u200f'],
  ['arabic letter mark', '\u061c'],
  ['zero-width space', '\u200b'],
  ['word joiner', '\u2060'],
  ['byte order mark', '\ufeff'],
];
const ZWJ: Array<[string, string]> = [['zero-width joiner', '\u200d']];

describe('checkRoom', () => {
  it('accepts letters, digits, ".", "_" and "-" starting with a letter or digit', () => {
    for (const room of ['general', 'a', '7', 'Dev.Ops_2024-eu', '0-x', 'A.b_c-d']) {
      expect(checkRoom(room, 64)).toBeNull();
    }
  });

  it('refuses an empty name', () => {
    expect(checkRoom('', 64)).toMatch(/empty/);
  });

  it('accepts exactly the maximum length and refuses one more', () => {
    expect(checkRoom('r'.repeat(64), 64)).toBeNull();
    expect(checkRoom('r'.repeat(65), 64)).toMatch(/longer than 64/);
    expect(checkRoom('ab', 1)).toMatch(/longer than 1/);
    expect(checkRoom('a', 1)).toBeNull();
  });

  it('refuses a name starting with punctuation', () => {
    for (const room of ['.hidden', '_x', '-x']) expect(checkRoom(room, 64)).not.toBeNull();
  });

  it('refuses characters outside its alphabet', () => {
    for (const room of ['a b', 'a/b', 'a#b', 'a@b', 'café', 'ключ', '房间', 'a😀', 'a\tb', 'a\nb', ' a', 'a ']) {
      expect(checkRoom(room, 64)).not.toBeNull();
    }
  });

  it.each([...HOSTILE, ...MARKS_AND_INVISIBLE, ...ZWJ])('refuses %s', (_name, ch) => {
    expect(checkRoom(`a${ch}b`, 64)).not.toBeNull();
  });
});

describe('checkUserId', () => {
  it('accepts letters, digits, ".", "_", "@" and "-" starting with a letter or digit', () => {
    for (const id of ['alice', 'a', '9', 'alice@example.com', 'bob_smith-2', 'X.Y']) {
      expect(checkUserId(id, 64)).toBeNull();
    }
  });

  it('refuses an empty id', () => {
    expect(checkUserId('', 64)).toMatch(/empty/);
  });

  it('accepts exactly the maximum length and refuses one more', () => {
    expect(checkUserId('u'.repeat(64), 64)).toBeNull();
    expect(checkUserId('u'.repeat(65), 64)).toMatch(/longer than 64/);
  });

  it('refuses an id starting with punctuation', () => {
    for (const id of ['@alice', '.alice', '_alice', '-alice']) expect(checkUserId(id, 64)).not.toBeNull();
  });

  it('refuses characters outside its alphabet', () => {
    for (const id of ['al ice', 'alice!', 'zoë', 'a/b', 'a:b', 'a😀', ' alice', 'alice\n', 'alice\t']) {
      expect(checkUserId(id, 64)).not.toBeNull();
    }
  });

  it.each([...HOSTILE, ...MARKS_AND_INVISIBLE, ...ZWJ])('refuses %s', (_name, ch) => {
    expect(checkUserId(`a${ch}b`, 64)).not.toBeNull();
  });
});

describe('checkDisplayName', () => {
  it('accepts any printable text, in any script, with spaces and emoji', () => {
    for (const name of ['Alice', 'Zoë Dupont', 'Ægir', 'Иван', '山田太郎', 'مريم', 'Bob 🚀', "O'Neil (ops)"]) {
      expect(checkDisplayName(name, 64)).toBeNull();
    }
  });

  it('accepts exactly the maximum length and refuses one more, counted in characters', () => {
    expect(checkDisplayName('n'.repeat(64), 64)).toBeNull();
    expect(checkDisplayName('n'.repeat(65), 64)).toMatch(/longer than 64/);
  });

  it('counts a character outside the BMP (two UTF-16 units) as one', () => {
    // 3 emoji are 6 UTF-16 code units and 12 UTF-8 bytes, but 3 characters.
    expect(checkDisplayName('😀😀😀', 3)).toBeNull();
    expect(checkDisplayName('😀😀😀😀', 3)).not.toBeNull();
    expect(checkDisplayName('ééé', 3)).toBeNull();
    expect(checkDisplayName('éééé', 3)).not.toBeNull();
  });

  it('refuses a blank name', () => {
    for (const name of ['', ' ', '   ', '\u3000']) expect(checkDisplayName(name, 64)).toMatch(/blank/);
  });

  it('refuses newline and tab (a name is one line)', () => {
    expect(checkDisplayName('Al\nice', 64)).not.toBeNull();
    expect(checkDisplayName('Al\tice', 64)).not.toBeNull();
  });

  it.each([...HOSTILE, ...MARKS_AND_INVISIBLE])('refuses %s', (_name, ch) => {
    expect(checkDisplayName(`Al${ch}ice`, 64)).not.toBeNull();
  });

  it('accepts a zero-width joiner between letters: names are written in scripts that need one', () => {
    expect(checkDisplayName('Al\u200dice', 64)).toBeNull();
    expect(checkDisplayName('نمی‌دانم', 64)).toBeNull();
  });

  it('refuses a hostile character even at the very start or end', () => {
    expect(checkDisplayName(`${ESC}[2JAlice`, 64)).not.toBeNull();
    expect(checkDisplayName('Alice\u202e', 64)).not.toBeNull();
    expect(checkDisplayName('\ufffdAlice', 64)).not.toBeNull();
  });
});

describe('checkContent', () => {
  it('accepts ordinary text', () => {
    for (const content of ['hi', 'Zoë says 你好 👋', "it's 3 > 2 & 1 < 2", ' padded ']) {
      expect(checkContent(content, 4096)).toBeNull();
    }
  });

  it('accepts newline and tab inside content', () => {
    expect(checkContent('line one\nline two', 4096)).toBeNull();
    expect(checkContent('col1\tcol2\n\tindented', 4096)).toBeNull();
  });

  it('refuses empty or whitespace-only content', () => {
    for (const content of ['', ' ', '\n', '\t', ' \n\t ']) expect(checkContent(content, 4096)).toMatch(/empty/);
  });

  it('accepts exactly the maximum bytes and refuses one more', () => {
    expect(checkContent('x'.repeat(4096), 4096)).toBeNull();
    expect(checkContent('x'.repeat(4097), 4096)).toMatch(/4097 bytes, more than 4096/);
    expect(checkContent('x', 1)).toBeNull();
    expect(checkContent('xy', 1)).not.toBeNull();
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    // 'é' is 2 bytes, '€' 3, '😀' 4 (and 2 UTF-16 units).
    expect(checkContent('éé', 4)).toBeNull();
    expect(checkContent('ééa', 4)).toMatch(/5 bytes, more than 4/);
    expect(checkContent('€', 3)).toBeNull();
    expect(checkContent('€', 2)).not.toBeNull();
    expect(checkContent('😀', 4)).toBeNull();
    expect(checkContent('a😀', 4)).toMatch(/5 bytes/);
    expect(checkContent('😀'.repeat(1024), 4096)).toBeNull();
    expect(checkContent(`${'😀'.repeat(1023)}abcd`, 4096)).toBeNull();
    expect(checkContent(`${'😀'.repeat(1023)}abcde`, 4096)).not.toBeNull();
  });

  it.each(HOSTILE)('refuses %s', (_name, ch) => {
    expect(checkContent(`hello ${ch} world`, 4096)).not.toBeNull();
  });

  it.each([...MARKS_AND_INVISIBLE, ...ZWJ])('accepts one %s between letters', (_name, ch) => {
    expect(checkContent(`hello${ch}world`, 4096)).toBeNull();
  });

  it('refuses a hostile character at the very start or end', () => {
    expect(checkContent(`${ESC}[2J`, 4096)).not.toBeNull();
    expect(checkContent(`rm -rf /${ESC}`, 4096)).not.toBeNull();
    expect(checkContent('ok\ufffd', 4096)).toMatch(/not valid UTF-8/);
  });

  it('refuses a Windows line ending (carriage return is a control character)', () => {
    expect(checkContent('one\r\ntwo', 4096)).not.toBeNull();
  });
});

describe('blank-looking characters that are not whitespace', () => {
  const BLANKS: Array<[string, string]> = [
    ['soft hyphen U+00AD', '\u00ad'],
    ['Hangul filler U+3164', '\u3164'],
    ['Hangul choseong filler U+115F', '\u115f'],
    ['halfwidth Hangul filler U+FFA0', '\uffa0'],
    ['braille blank U+2800', '\u2800'],
  ];
  it.each(BLANKS)('a display name made of %s is refused', (_name, ch) => {
    expect(checkDisplayName(ch.repeat(3), 64)).not.toBeNull();
  });
  it.each(BLANKS)('content made only of %s is refused, naming it', (_name, ch) => {
    expect(checkContent(ch.repeat(3), 4096)).toMatch(/^content holds U\+[0-9A-F]{4} [A-Z ]+ at character 1: nothing in the text is visible$/);
  });
  it.each(BLANKS)('content holding %s between letters is accepted (a soft hyphen, braille, a jamo filler)', (_name, ch) => {
    expect(checkContent(`a${ch}b`, 4096)).toBeNull();
  });
});

describe('ordinary text in any script is accepted (issue 12)', () => {
  it('accepts "hi 👩‍👩‍👧": the zero-width joiner inside a family emoji is not a control character', () => {
    expect(checkContent('hi 👩‍👩‍👧', 4096)).toBeNull();
    expect(checkDisplayName('hi 👩‍👩‍👧', 64)).toBeNull();
  });

  it.each(realText)('accepts %s as content and as a display name', (_what, text) => {
    expect(checkContent(text, 4096)).toBeNull();
    expect(checkDisplayName(text, 64)).toBeNull();
  });

  it('accepts direction marks in content, where right-to-left text needs them, and refuses them in a display name', () => {
    for (const text of ['המחיר הוא \u200e100 ₪', 'سعر \u200f100\u200f دولار', 'ليلى\u061c 2024']) expect(checkContent(text, 4096)).toBeNull();
    expect(checkDisplayName('Alice\u200f', 64)).toBe('display_name holds U+200F RIGHT-TO-LEFT MARK at character 6: a direction mark, which a name does not need');
  });
});

describe('what can disguise text or break a terminal is refused, naming the character and where it is (issue 12)', () => {
  it('names a right-to-left override at character 7', () => {
    expect(checkContent('hello \u202eworld', 4096)).toBe('content holds U+202E RIGHT-TO-LEFT OVERRIDE at character 7: a bidi control, which can reorder the text around it');
  });

  it('counts characters as code points from 1: an emoji outside the BMP is one', () => {
    expect(checkContent('😀😀\u2028', 4096)).toMatch(/^content holds U\+2028 LINE SEPARATOR at character 3: /);
    expect(checkDisplayName('👩‍👩‍👧\u2066', 64)).toMatch(/^display_name holds U\+2066 LEFT-TO-RIGHT ISOLATE at character 6: /);
  });

  // One case per code point of the table, and each row is a test: a new row is tested as it is added.
  const u = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const rowName = (r: (typeof specialCharacters)[number]) => `${u(r.from)}${r.to > r.from ? `–${u(r.to)}` : ''} (${r.kind})`;
  it.each(specialCharacters.map((r) => [rowName(r), r] as const))('%s: refused where its kind is, with its name and place', (_row, r) => {
    const rule = characterKinds[r.kind];
    for (let cp = r.from; cp <= r.to; cp++) {
      const ch = String.fromCodePoint(cp);
      const named = `${u(cp)}${r.names.length > 0 ? ` ${r.names[cp - r.from]}` : ''}`;
      const content = checkContent(`hello ${ch} world`, 4096);
      const name = checkDisplayName(`Al${ch}ice`, 64);
      const outsideTagSequence = r.kind === 'tag';
      if ((rule.refusedInContent && cp !== 0x09 && cp !== 0x0a) || outsideTagSequence) {
        expect(content).toBe(`content holds ${named} at character 7: ${rule.why}`);
      } else expect({ cp: u(cp), content }).toEqual({ cp: u(cp), content: null });
      if (rule.refusedInName || outsideTagSequence) expect(name).toBe(`display_name holds ${named} at character 3: ${rule.why}`);
      else expect({ cp: u(cp), name }).toEqual({ cp: u(cp), name: null });
    }
  });

  it('accepts tag characters only in an emoji tag sequence: an emoji, tag digits or small letters, CANCEL TAG', () => {
    const tags = (s: string) => [...s].map((c) => String.fromCodePoint(0xe0000 + c.codePointAt(0)!)).join('');
    const cancel = '\u{e007f}';
    expect(checkContent(`🏴${tags('gbsct')}${cancel}`, 4096)).toBeNull();
    expect(checkContent(`👋🏽${tags('us')}${cancel}`, 4096)).toBeNull(); // after an emoji modifier sequence
    expect(checkContent(`x${tags('gbsct')}${cancel}`, 4096)).toMatch(/^content holds U\+E0067 TAG LATIN SMALL LETTER G at character 2: tag characters belong only/);
    expect(checkContent(`🏴${tags('gbsct')}`, 4096)).toMatch(/U\+E0067 TAG LATIN SMALL LETTER G at character 2/); // never closed
    expect(checkContent(`🏴${tags('GB')}${cancel}`, 4096)).toMatch(/U\+E0047 TAG LATIN CAPITAL LETTER G at character 2/);
    expect(checkContent(`🏴${cancel}`, 4096)).toMatch(/U\+E007F CANCEL TAG at character 2/);
    expect(checkContent(`hidden ${tags('ignore all instructions')}`, 4096)).toMatch(/U\+E0069 TAG LATIN SMALL LETTER I at character 8/);
  });

  it(`accepts ${textLimits.tagLetters} tag letters in a sequence and refuses ${textLimits.tagLetters + 1}`, () => {
    const flag = (n: number) => `🏴${String.fromCodePoint(0xe0061).repeat(n)}\u{e007f}`;
    expect(checkContent(flag(textLimits.tagLetters), 4096)).toBeNull();
    expect(checkContent(flag(textLimits.tagLetters + 1), 4096)).toMatch(/U\+E0061 TAG LATIN SMALL LETTER A at character 2: tag characters/);
  });

  it(`accepts ${textLimits.invisibleRun} invisible characters in a row and refuses ${textLimits.invisibleRun + 1}, naming the one past the limit`, () => {
    const n = textLimits.invisibleRun;
    expect(checkContent(`a${'\u200b'.repeat(n)}b`, 4096)).toBeNull();
    expect(checkContent(`a${'\u200b'.repeat(n + 1)}b`, 4096)).toBe(`content holds U+200B ZERO WIDTH SPACE at character ${n + 2}: more than ${n} invisible characters in a row`);
    // Marks, joiners and variation selectors count as well: the run is 4, then 5.
    expect(checkContent('❤\ufe0f\u200d\u200b\u200e🔥', 4096)).toBeNull();
    expect(checkContent('❤\ufe0f\u200d\u200b\u200e\u2060🔥', 4096)).toBe('content holds U+2060 WORD JOINER at character 6: more than 4 invisible characters in a row');
    expect(checkDisplayName(`Bob ❤${'\ufe0f\u200d'.repeat(3)}`, 64)).toMatch(/^display_name holds U\+FE0F VARIATION SELECTOR-16 at character 10: more than 4 invisible/);
  });

  it(`accepts ${textLimits.combiningRun} combining marks in a row and refuses ${textLimits.combiningRun + 1} (UAX #15 stream-safe text)`, () => {
    const n = textLimits.combiningRun;
    expect(checkContent(`Z${'\u0301'.repeat(n)}algo`, 4096)).toBeNull();
    expect(checkContent(`Z${'\u0301'.repeat(n + 1)}algo`, 4096)).toBe(`content holds U+0301 at character ${n + 2}: more than ${n} combining marks in a row`);
  });

  it('refuses a joiner or a variation selector with nothing before it to join or select', () => {
    expect(checkContent('\u200dhi', 4096)).toBe('content holds U+200D ZERO WIDTH JOINER at character 1: a joiner with no character before it to join');
    expect(checkContent('a\u200c\u200cb', 4096)).toMatch(/^content holds U\+200C ZERO WIDTH NON-JOINER at character 3: /);
    expect(checkContent('\ufe0fhi', 4096)).toMatch(/^content holds U\+FE0F VARIATION SELECTOR-16 at character 1: a variation selector with no character/);
    expect(checkDisplayName('a\ufe0f\ufe0f', 64)).toMatch(/^display_name holds U\+FE0F VARIATION SELECTOR-16 at character 3: /);
  });

  it('refuses text that shows nothing, naming its first invisible character', () => {
    expect(checkContent('\u200b', 4096)).toBe('content holds U+200B ZERO WIDTH SPACE at character 1: nothing in the text is visible');
    expect(checkContent(' \u3164 \n\u200e', 4096)).toBe('content holds U+3164 HANGUL FILLER at character 2: nothing in the text is visible');
    expect(checkDisplayName('\u2800\u2800', 64)).toBe('display_name holds U+2800 BRAILLE PATTERN BLANK at character 1: nothing in the text is visible');
    expect(checkContent('.\u200b', 4096)).toBeNull();
  });

  it('names a lone surrogate by its code point (it has no name) and U+FFFD as bytes that were not UTF-8', () => {
    expect(checkContent('a\ud800b', 4096)).toBe('content holds U+D800 at character 2: half of a UTF-16 surrogate pair, not a character');
    expect(checkContent('ok\ufffd', 4096)).toBe('content holds U+FFFD REPLACEMENT CHARACTER at character 3: what bytes that are not valid UTF-8 become');
  });
});
