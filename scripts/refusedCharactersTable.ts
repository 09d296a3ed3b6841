/**
 * docs/protocol.md's table of special characters, made from src/lib/specialCharacters.ts
 * (`npm run docs:tables` writes it, scripts/docsTables.ts).
 */
import { type CharacterKind, characterKinds, type CharacterRow, specialCharacters } from '../src/lib/specialCharacters.js';
import { textLimits } from '../src/lib/textLimits.js';

const u = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

function names(r: CharacterRow): string {
  if (r.names.length === 0) return '(lone surrogates: no name)';
  return r.names.length > 6 ? `${r.names[0]} … ${r.names.at(-1)}` : r.names.join(', ');
}

const run = `at most ${textLimits.invisibleRun} invisible in a row`;
const accepted: Record<CharacterKind, string> = {
  control: 'refused',
  bidi: 'refused',
  separator: 'refused',
  format: 'refused',
  invalid: 'refused',
  surrogate: 'refused',
  mark: `accepted, ${run}`,
  invisible: `accepted, ${run}`,
  blank: 'accepted',
  joiner: `accepted, but not first in the text nor doubled; ${run}`,
  selector: `accepted, but not first in the text nor doubled; ${run}`,
  tag: `only in an emoji tag sequence (an emoji, 1–${textLimits.tagLetters} tag digits or small letters, CANCEL TAG)`,
};

function verdict(r: CharacterRow, refused: boolean, field: 'content' | 'name'): string {
  if (!refused) return accepted[r.kind];
  return field === 'content' && r.from <= 0x0a && r.to >= 0x09 ? 'refused, but newline and tab' : 'refused';
}

export function refusedCharactersTable(): string {
  return [
    '| code points | Unicode names | kind | in content | in a display name |',
    '|---|---|---|---|---|',
    ...specialCharacters.map((r) => {
      const rule = characterKinds[r.kind];
      const points = r.to > r.from ? `${u(r.from)}–${u(r.to)}` : u(r.from);
      return `| ${points} | ${names(r)} | ${r.kind} | ${verdict(r, rule.refusedInContent, 'content')} | ${verdict(r, rule.refusedInName, 'name')} |`;
    }),
    `| any other \`\\p{Default_Ignorable_Code_Point}\` | (unassigned) | format | refused | refused |`,
  ].join('\n');
}
