import type { ViewLine } from './ChatModel.js';
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
 * Returns the rows in reading order and whether older lines are left above.
 */
export function messageRows(lines: ViewLine[], width: number, height: number, scroll: number): { rows: Row[]; more: boolean } {
  const wanted = height + scroll;
  const rows: Row[] = [];
  let i = lines.length - 1;
  for (; i >= 0 && rows.length < wanted; i--) rows.unshift(...rowsOf(lines[i]!, width));
  const end = Math.max(0, rows.length - scroll);
  const start = Math.max(0, end - height);
  return { rows: rows.slice(start, end), more: i >= 0 || start > 0 };
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

/** HH:MM in local time. */
export function clock(at: number): string {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}
