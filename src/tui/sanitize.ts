/**
 * Makes text from the network safe to print: nothing in it may move the cursor,
 * change colours, set the window title or reorder what is shown. C0 controls
 * (ESC included) and DEL become their visible Control Pictures (␛, ␊…), C1
 * controls and bidi overrides become U+FFFD, and invisible format characters
 * are dropped, except the zero-width joiner that emoji sequences need, and so
 * are the Hangul fillers, which draw nothing yet count as letters (blank names).
 */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    if (code < 0x20) return String.fromCodePoint(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    if (INVISIBLE.test(c)) return '';
    return '\uFFFD';
  });
}

/** One line for a name or a room: sanitized, and cut at `max` characters with an ellipsis. */
export function sanitizeName(text: string, max = 32): string {
  const clean = sanitize(text);
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}

// C0, DEL, C1; bidi embeddings, overrides, isolates and marks; zero-width and
// other invisible format characters; Hangul fillers; lone surrogates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u115f\u1160\u3164\uffa0\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u206a-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const INVISIBLE = /[\u115f\u1160\u3164\uffa0\u200b\u200c\u2060-\u2064\u206a-\u206f\ufeff]/;
