import { replaceFindings } from '../lib/replaceFindings.js';
import { type Finding, scanText, type TextField } from '../lib/scanText.js';

/**
 * Makes text from the network safe to print: nothing in it may move the cursor,
 * change colours, set the window title or reorder what is shown. It reads the
 * server's own table and rules (src/lib/scanText.ts), so nothing the server would
 * refuse in `field` is printed as it is: C0 controls (ESC included) and DEL become
 * their visible Control Pictures (␛, ␊…), everything else refused becomes U+FFFD.
 * In content, the invisible characters the server accepts (zero-width space, soft
 * hyphen, Hangul fillers…) are dropped first, since terminals and Ink disagree on
 * their width; joiners, variation selectors, direction marks and emoji tags stay,
 * as the text they belong to needs them. So content the server accepts is shown
 * unchanged but for those invisible characters, and what is shown is text the
 * server would accept, but for the U+FFFD put in.
 */
export function sanitize(text: string, field: TextField = 'content'): string {
  const visible = field === 'content' ? replaceFindings(text, scanText(text, field), (f) => (f.kind === 'invisible' ? '' : undefined)) : text;
  return replaceFindings(visible, scanText(visible, field), shownAs);
}

/** One line for a name or a room: sanitized by the display-name rules, and cut at `max` characters with an ellipsis. */
export function sanitizeName(text: string, max = 32): string {
  const clean = sanitize(text, 'name');
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}

function shownAs(f: Finding): string | undefined {
  if (f.codePoint < 0x20) return String.fromCodePoint(0x2400 + f.codePoint);
  if (f.codePoint === 0x7f) return '\u2421';
  return f.refusal === undefined ? undefined : '\uFFFD';
}
