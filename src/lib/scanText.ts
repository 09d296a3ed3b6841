import { type CharacterKind, characterKinds, type CharacterRow, specialCharacters } from './specialCharacters.js';
import { textLimits } from './textLimits.js';

/** Whose rules apply: content keeps newline, tab, direction marks and invisible characters; a display name none of them. */
export type TextField = 'content' | 'name';

/** A character of the table found in text, or a character past a limit. */
export interface Finding {
  /** Where it starts, in UTF-16 code units (for slicing). */
  readonly at: number;
  /** Its length in UTF-16 code units: 2 outside the BMP. */
  readonly length: number;
  /** Its place in the text, counting code points from 1, as display_name lengths count. */
  readonly index: number;
  readonly codePoint: number;
  /** Its Unicode name, or '' when the table has none for it. */
  readonly name: string;
  /** Its kind; undefined for a combining mark past the limit. */
  readonly kind: CharacterKind | undefined;
  /** Why the field refuses it here; undefined when it is accepted. */
  readonly refusal: string | undefined;
}

// What an emoji tag sequence may follow (Unicode TS #51, ED-14a: an emoji, a modifier, or VS16).
const TAG_BASE = /[\p{Emoji}\p{Emoji_Modifier}\uFE0F]/u;
const CANCEL_TAG = 0xe007f;
/** The kinds that draw nothing and take no cell: runs of them are limited. */
const ZERO_WIDTH: ReadonlySet<CharacterKind> = new Set(['invisible', 'mark', 'joiner', 'selector']);
const TOO_MANY_INVISIBLE = `more than ${textLimits.invisibleRun} invisible characters in a row`;
const TOO_MANY_MARKS = `more than ${textLimits.combiningRun} combining marks in a row`;

const KINDS = Object.keys(characterKinds) as CharacterKind[];
const MARK_BIT = 0x80;
/** For each BMP code point: 1 + its kind's place in KINDS (0: plain text), plus MARK_BIT for a combining mark (\p{M}). */
const BMP = bmpTable();
const MARK = /\p{M}/u;
const ranges = specialCharacters.map((r) => `\\u{${r.from.toString(16)}}-\\u{${r.to.toString(16)}}`).join('');
/** Whether text may hold anything to find: most text holds no character of the table and no mark, and one search says so. */
const ANYTHING = new RegExp(`[${ranges}\\p{Default_Ignorable_Code_Point}\\p{M}]`, 'u');

/**
 * Every character of the table in `text`, and every character past a limit, each
 * with why `field` refuses it there (or not), in text order. One pass over the
 * code units with a table lookup each: ordinary text costs little to publish.
 */
export function scanText(text: string, field: TextField): Finding[] {
  const findings: Finding[] = [];
  if (!ANYTHING.test(text)) return findings;
  let index = 0;
  let invisibleRun = 0;
  let combiningRun = 0;
  let tagsUntil = 0; // where the emoji tag sequence being read ends
  let previous: CharacterKind | 'text' | undefined;
  for (let at = 0; at < text.length; ) {
    const codePoint = text.codePointAt(at)!;
    const length = codePoint > 0xffff ? 2 : 1;
    index++;
    const bits = codePoint <= 0xffff ? BMP[codePoint]! : 0;
    const kind = codePoint > 0xffff ? astralKind(codePoint) : bits & ~MARK_BIT ? KINDS[(bits & ~MARK_BIT) - 1] : undefined;
    combiningRun = (codePoint <= 0xffff ? bits & MARK_BIT : isAstralMark(codePoint)) ? combiningRun + 1 : 0;
    if (kind === undefined && combiningRun <= textLimits.combiningRun) {
      // Plain text: the common case, kept short.
      invisibleRun = 0;
      previous = 'text';
      at += length;
      continue;
    }
    invisibleRun = kind !== undefined && ZERO_WIDTH.has(kind) ? invisibleRun + 1 : 0;
    let refusal: string | undefined;
    if (kind === 'tag') {
      if (at >= tagsUntil) tagsUntil = tagSequenceEnd(text, at);
      if (at >= tagsUntil) refusal = characterKinds.tag.why;
    } else if (kind !== undefined) refusal = refusalOf(kind, codePoint, field, previous);
    refusal ??= invisibleRun > textLimits.invisibleRun ? TOO_MANY_INVISIBLE : undefined;
    refusal ??= combiningRun > textLimits.combiningRun ? TOO_MANY_MARKS : undefined;
    if (kind !== undefined || refusal !== undefined) {
      const row = kind === undefined ? undefined : specialCharacter(codePoint);
      const name = row?.names[codePoint - row.from] ?? '';
      findings.push({ at, length, index, codePoint, name, kind, refusal });
    }
    previous = kind ?? 'text';
    at += length;
  }
  return findings;
}

function bmpTable(): Uint8Array {
  const table = new Uint8Array(0x10000);
  for (const r of specialCharacters) {
    for (let cp = r.from; cp <= Math.min(r.to, 0xffff); cp++) table[cp] = KINDS.indexOf(r.kind) + 1;
  }
  // One regular-expression pass over every BMP character but the surrogates (which would pair up).
  const units = Uint16Array.from({ length: 0x10000 }, (_, cp) => (cp >= 0xd800 && cp <= 0xdfff ? 0x20 : cp));
  const all = new TextDecoder('utf-16le').decode(units);
  // Default-ignorable code points the table does not hold are unassigned: refused, as format characters.
  for (const { index } of all.matchAll(/\p{Default_Ignorable_Code_Point}/gu)) table[index!] ||= KINDS.indexOf('format') + 1;
  for (const { index } of all.matchAll(/\p{M}/gu)) table[index!] = table[index!]! | MARK_BIT;
  return table;
}

/** The kind of a code point outside the BMP; the unassigned default-ignorable ones there are U+E0000–U+E0FFF. */
function astralKind(codePoint: number): CharacterKind | undefined {
  return specialCharacter(codePoint)?.kind ?? (codePoint >= 0xe0000 && codePoint <= 0xe0fff ? 'format' : undefined);
}

/** Whether a code point outside the BMP is a combining mark; none is from U+1F000 (emoji) on, but the variation selectors. */
function isAstralMark(codePoint: number): boolean {
  if (codePoint >= 0x1f000) return codePoint >= 0xe0100 && codePoint <= 0xe01ef;
  return MARK.test(String.fromCodePoint(codePoint));
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** Why `field` refuses a character of this kind after `previous`, or undefined. */
function refusalOf(kind: CharacterKind, codePoint: number, field: TextField, previous: CharacterKind | 'text' | undefined): string | undefined {
  const rule = characterKinds[kind];
  if (field === 'content' && (codePoint === 0x09 || codePoint === 0x0a)) return undefined;
  if (field === 'content' ? rule.refusedInContent : rule.refusedInName) return rule.why;
  // A joiner or selector acts on the character before it: at the start, or doubled, it has none.
  if ((kind === 'joiner' || kind === 'selector') && (previous === undefined || previous === kind)) return rule.why;
  return undefined;
}

/**
 * Where the emoji tag sequence whose first tag is at `at` ends (the offset after
 * its CANCEL TAG), or `at` when it is not one: an emoji, then 1–7 tag digits or
 * small letters, then CANCEL TAG (Unicode TS #51, ED-14a), as subdivision flags are.
 */
function tagSequenceEnd(text: string, at: number): number {
  const pair = at >= 2 && isHighSurrogate(text.charCodeAt(at - 2)) && isLowSurrogate(text.charCodeAt(at - 1));
  const before = text.slice(Math.max(0, at - (pair ? 2 : 1)), at);
  if (!TAG_BASE.test(before)) return at;
  let end = at;
  while (end < text.length && isTagLetter(text.codePointAt(end)!)) end += 2; // tags lie outside the BMP
  const letters = (end - at) / 2;
  const closed = text.codePointAt(end) === CANCEL_TAG;
  return closed && letters >= 1 && letters <= textLimits.tagLetters ? end + 2 : at;
}

const isTagLetter = (cp: number) => (cp >= 0xe0030 && cp <= 0xe0039) || (cp >= 0xe0061 && cp <= 0xe007a);

/** The table's row holding this code point, or undefined for plain text. */
function specialCharacter(codePoint: number): CharacterRow | undefined {
  let low = 0;
  let high = specialCharacters.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const r = specialCharacters[middle]!;
    if (codePoint < r.from) high = middle - 1;
    else if (codePoint > r.to) low = middle + 1;
    else return r;
  }
  return undefined;
}
