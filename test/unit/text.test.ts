import { describe, expect, it } from '@jest/globals';
import { checkContent, checkDisplayName, checkRoom, checkUserId } from '../../src/domain/text.js';

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
  ['right-to-left mark', '\u200f'],
  ['arabic letter mark', '\u061c'],
  ['zero-width space', '\u200b'],
  ['zero-width joiner', '\u200d'],
  ['word joiner', '\u2060'],
  ['line separator', '\u2028'],
  ['paragraph separator', '\u2029'],
  ['byte order mark', '\ufeff'],
  ['replacement character (bytes that were not UTF-8)', '\ufffd'],
];

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

  it.each(HOSTILE)('refuses %s', (_name, ch) => {
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

  it.each(HOSTILE)('refuses %s', (_name, ch) => {
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

  it.each(HOSTILE)('refuses %s', (_name, ch) => {
    expect(checkDisplayName(`Al${ch}ice`, 64)).not.toBeNull();
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
  it.each(BLANKS)('content holding %s is refused', (_name, ch) => {
    expect(checkContent(`a${ch}b`, 4096)).not.toBeNull();
  });
});
