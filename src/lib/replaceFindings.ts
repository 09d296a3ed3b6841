import type { Finding } from './scanText.js';

/** `text` with each finding (from scanText) replaced by what `by` says for it; undefined keeps it as it is. */
export function replaceFindings(text: string, findings: readonly Finding[], by: (f: Finding) => string | undefined): string {
  let out = '';
  let from = 0;
  for (const f of findings) {
    const replacement = by(f);
    if (replacement === undefined) continue;
    out += text.slice(from, f.at) + replacement;
    from = f.at + f.length;
  }
  return from === 0 ? text : out + text.slice(from);
}
