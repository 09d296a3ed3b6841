import { scanText, type TextField } from './scanText.js';

/** The first character a field refuses: which, where, and why. */
export interface Refused {
  readonly codePoint: number;
  /** Its Unicode name, or '' when it has none (a surrogate, a combining mark). */
  readonly name: string;
  /** Its place, counting code points from 1. */
  readonly index: number;
  readonly why: string;
  /** All of it in words: "U+202E RIGHT-TO-LEFT OVERRIDE at character 7: a bidi control, …". */
  readonly message: string;
}

const NOTHING_VISIBLE = 'nothing in the text is visible';
const WHITESPACE = /\s/u;

/**
 * The first character `field` refuses in `text`, or undefined. Text that is not
 * empty yet shows nothing (only invisible characters, fillers and whitespace) is
 * refused at its first invisible character. Whitespace-only text is not refused
 * here: callers say it is empty or blank.
 */
export function firstRefused(text: string, field: TextField): Refused | undefined {
  const findings = scanText(text, field);
  const refused = findings.find((f) => f.refusal !== undefined);
  if (refused !== undefined) return describe(refused.codePoint, refused.name, refused.index, refused.refusal!);
  // Nothing refused, so every finding is a character of the table: is anything else not whitespace?
  let next = 0;
  let at = 0;
  for (const ch of text) {
    if (findings[next]?.at === at) next++;
    else if (!WHITESPACE.test(ch)) return undefined;
    at += ch.length;
  }
  const first = findings[0];
  return first && describe(first.codePoint, first.name, first.index, NOTHING_VISIBLE);
}

function describe(codePoint: number, name: string, index: number, why: string): Refused {
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  return { codePoint, name, index, why, message: `${hex}${name ? ` ${name}` : ''} at character ${index}: ${why}` };
}
