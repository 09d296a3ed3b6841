import type { ViewLine } from './ChatModel.js';
import { clock } from './clock.js';
import { cellWidth, fitWidth, wrapText } from './wrapText.js';

/** One terminal row of the messages pane. */
export interface Row {
  key: string;
  /** The first row of a line carries its time and sender; the rest are indented. */
  time: string;
  sender: string;
  line: ViewLine;
  text: string;
}

/** Widest sender name shown before a message. */
const SENDER_COLUMNS = 12;

/**
 * The rows the newest lines take at this width, bottom-up, enough to fill
 * `height` rows above `scroll` rows scrolled back: only what can be seen is
 * wrapped, so a room of thousands of lines costs no more than a screenful.
 * Returns the rows in reading order, whether older lines are left above, and
 * `maxScroll`, the most rows one can scroll back: exact once the oldest line
 * was reached, else a bound that is at least `scroll` (so clamping to it is safe).
 */
export function messageRows(lines: ViewLine[], width: number, height: number, scroll: number): { rows: Row[]; more: boolean; maxScroll: number } {
  const wanted = height + scroll;
  const rows: Row[] = [];
  let i = lines.length - 1;
  for (; i >= 0 && rows.length < wanted; i--) rows.unshift(...rowsOf(lines[i]!, width));
  const end = Math.max(0, rows.length - scroll);
  const start = Math.max(0, end - height);
  const maxScroll = Math.max(0, rows.length - height);
  return { rows: rows.slice(start, end), more: i >= 0 || start > 0, maxScroll };
}

const cache = new WeakMap<ViewLine, { width: number; rows: Row[] }>();

function rowsOf(line: ViewLine, width: number): Row[] {
  const hit = cache.get(line);
  if (hit?.width === width) return hit.rows;
  const time = clock(line.at);
  const sender = line.kind === 'message' || line.kind === 'own' || line.kind === 'pending' ? fitWidth(line.sender, SENDER_COLUMNS) : line.kind === 'error' ? '!' : '·';
  const indent = cellWidth(time) + 1 + cellWidth(sender) + 1;
  const rows = wrapText(line.text, Math.max(8, width - indent)).map((text, n) => ({
    key: `${line.id}:${n}`,
    time: n === 0 ? time : '',
    sender: n === 0 ? sender : '',
    line,
    text: n === 0 ? text : ' '.repeat(indent) + text,
  }));
  cache.set(line, { width, rows });
  return rows;
}
