import { describe, expect, it } from '@jest/globals';
import { refusedCharactersTable } from '../../scripts/refusedCharactersTable.js';
import { scanText } from '../../src/lib/scanText.js';
import { specialCharacters } from '../../src/lib/specialCharacters.js';

const hex = (cp: number) => cp.toString(16).toUpperCase().padStart(4, '0');

describe('the table of special characters', () => {
  it('is sorted, its rows do not overlap, and each row names each of its code points (surrogates have no name)', () => {
    let previous = -1;
    for (const r of specialCharacters) {
      expect(r.from).toBeGreaterThan(previous);
      expect(r.to).toBeGreaterThanOrEqual(r.from);
      previous = r.to;
      if (r.kind === 'surrogate') expect(r.names).toEqual([]);
      else {
        expect({ row: hex(r.from), names: r.names.length }).toEqual({ row: hex(r.from), names: r.to - r.from + 1 });
        for (const name of r.names) expect(name).toMatch(/^[A-Z][A-Z0-9 -]*[A-Z0-9]$/);
      }
    }
  });

  it('holds every C0 and C1 control, DEL, and every default-ignorable code point Unicode has assigned (as this Node knows it)', () => {
    const ignorable = /\p{Default_Ignorable_Code_Point}/u;
    const unassigned = /\p{Cn}/u;
    const missing: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const wanted = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (ignorable.test(ch) && !unassigned.test(ch));
      if (wanted && scanText(`a${ch}b`, 'content').every((f) => f.codePoint !== cp || f.name === '')) missing.push(hex(cp));
    }
    expect(missing).toEqual([]);
  });

  it('names a few characters as Unicode does', () => {
    const known: Array<[string, string]> = [
      ['\x1b', 'ESCAPE'],
      ['\x9b', 'CONTROL SEQUENCE INTRODUCER'],
      ['\u202e', 'RIGHT-TO-LEFT OVERRIDE'],
      ['\u2028', 'LINE SEPARATOR'],
      ['\u200d', 'ZERO WIDTH JOINER'],
      ['\ufe0f', 'VARIATION SELECTOR-16'],
      ['\u{e0100}', 'VARIATION SELECTOR-17'],
      ['\u{e01ef}', 'VARIATION SELECTOR-256'],
      ['\u{e0020}', 'TAG SPACE'],
      ['\u{e0030}', 'TAG DIGIT ZERO'],
      ['\u{e007e}', 'TAG TILDE'],
      ['\u{e007f}', 'CANCEL TAG'],
    ];
    expect(known.map(([ch]) => [ch, scanText(ch, 'content')[0]?.name])).toEqual(known);
  });
});

describe('refusedCharactersTable (for docs/protocol.md)', () => {
  it('has one row for each row of the table, in its order, and one for the unassigned rest', () => {
    const rows = refusedCharactersTable().split('\n').slice(2);
    expect(rows).toHaveLength(specialCharacters.length + 1);
    specialCharacters.forEach((r, i) => expect(rows[i]).toMatch(new RegExp(`^\\| U\\+${hex(r.from)}[ –].*\\| ${r.kind} \\|`)));
  });
});

describe('scanText', () => {
  it('finds nothing in plain text, and gives each finding its UTF-16 place and its code point index from 1', () => {
    expect(scanText('plain text, 漢字 and 😀', 'content')).toEqual([]);
    const [zwj] = scanText('😀a\u200db', 'content');
    expect(zwj).toMatchObject({ at: 3, length: 1, index: 3, codePoint: 0x200d, kind: 'joiner', refusal: undefined });
    const [tag] = scanText('x\u{e0041}', 'content');
    expect(tag).toMatchObject({ at: 1, length: 2, index: 2, kind: 'tag' });
    expect(tag!.refusal).toMatch(/^tag characters belong only/);
  });

  it('counts combining marks outside the BMP too; none lies from U+1F000 on but the variation selectors, which it relies on', () => {
    const brahmiVirama = '\u{11046}';
    expect(scanText(`\u{11013}${brahmiVirama.repeat(31)}`, 'content').at(-1)).toMatchObject({ index: 32, refusal: 'more than 30 combining marks in a row' });
    const mark = /\p{M}/u;
    const late: string[] = [];
    for (let cp = 0x1f000; cp <= 0x10ffff; cp++) if (mark.test(String.fromCodePoint(cp)) && !(cp >= 0xe0100 && cp <= 0xe01ef)) late.push(hex(cp));
    expect(late).toEqual([]);
  });

  it('treats a default-ignorable code point Unicode has not assigned as a format character, refused', () => {
    const [f] = scanText('a\u2065b', 'content');
    expect(f).toMatchObject({ codePoint: 0x2065, kind: 'format', name: '', refusal: 'a deprecated or unassigned format character' });
  });
});
