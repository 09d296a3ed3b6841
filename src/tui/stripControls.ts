import { replaceFindings } from '../lib/replaceFindings.js';
import { scanText } from '../lib/scanText.js';
import { characterKinds } from '../lib/specialCharacters.js';

/**
 * Typed or pasted text without what the server refuses in content wherever it is:
 * C0/C1 controls and DEL (what a key press leaves behind, an escape sequence Ink
 * did not parse; newline and tab too, as this is one line), bidi controls, line
 * and paragraph separators, deprecated format characters and U+FFFD. Joiners,
 * variation selectors, marks and tags stay: they come one key at a time, so
 * whether each is in its place is for the whole message, which the server checks.
 */
export function stripControls(text: string): string {
  return replaceFindings(text, scanText(text, 'content'), (f) =>
    f.kind === 'control' || (f.kind !== undefined && characterKinds[f.kind].refusedInContent) ? '' : undefined,
  );
}
