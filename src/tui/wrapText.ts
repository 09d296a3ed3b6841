import stringWidth from 'string-width';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits text into lines of at most `width` terminal columns, counting wide
 * characters (CJK, most emoji) as two, breaking after a space where it can and
 * inside a word where it must. Never returns an empty list.
 */
export function wrapText(text: string, width: number): string[] {
  const max = Math.max(1, width);
  const lines: string[] = [];
  let line: string[] = [];
  let lineWidth = 0;
  let breakAt = -1; // index in `line` just after the last space
  for (const { segment } of graphemes.segment(text)) {
    const w = Math.min(max, stringWidth(segment));
    // A loop: what follows a break at a leading space can still be too wide for this segment.
    while (lineWidth + w > max && line.length > 0) {
      const cut = breakAt > 0 ? breakAt : line.length;
      const head = line.slice(0, cut).join('').trimEnd();
      // A head of spaces only (a run of them at a break) is no row of its own.
      if (head !== '') lines.push(head);
      line = line.slice(cut);
      lineWidth = stringWidth(line.join(''));
      breakAt = -1;
    }
    line.push(segment);
    lineWidth += w;
    if (segment === ' ') breakAt = line.length;
  }
  lines.push(line.join(''));
  return lines;
}

/** Columns the text takes in a terminal. */
export function cellWidth(text: string): number {
  return stringWidth(text);
}

/**
 * The end of the text that fits in `width` columns, with … before it when
 * something was cut: one pass from the last grapheme back, so a long draft
 * costs its length, not its length squared.
 */
export function fitEnd(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  const parts = Array.from(graphemes.segment(text), (s) => s.segment);
  let used = 0;
  let from = parts.length;
  while (from > 0) {
    const w = stringWidth(parts[from - 1]!);
    if (used + w > width - 1) break;
    used += w;
    from -= 1;
  }
  return `…${parts.slice(from).join('')}`;
}

/** The text cut to at most `width` columns, with … when something was cut. */
export function fitWidth(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}
