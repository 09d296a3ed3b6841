/**
 * The alphabets and lengths of names, and what content may hold. Anything a
 * terminal could interpret (escape sequences, control characters other than
 * newline and tab) is refused here, so it never reaches a screen.
 */

const ROOM = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
// C0 and C1 control characters and DEL, except tab (\x09) and newline (\x0a).
const CONTROL_IN_CONTENT = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
// Bidirectional overrides and isolates can disguise text; zero-width and line
// separators can hide it or break a terminal's layout; fillers and blanks that are
// not whitespace (soft hyphen, Hangul fillers, braille blank) make text look empty.
const DISGUISING = /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\u2800\u3164\ufeff\uffa0]/;
// What the UTF-8 decoder substitutes for bytes that are not valid UTF-8.
const REPLACEMENT = '\ufffd';

/** Why a name or content was refused, or null when it is acceptable. */
export type Refusal = string | null;

export function checkRoom(room: string, maxLength: number): Refusal {
  if (room.length === 0) return 'room is empty';
  if (room.length > maxLength) return `room is longer than ${maxLength} characters`;
  if (!ROOM.test(room)) return 'room may hold only letters, digits, ".", "_" and "-", starting with a letter or digit';
  return null;
}

export function checkUserId(userId: string, maxLength: number): Refusal {
  if (userId.length === 0) return 'user_id is empty';
  if (userId.length > maxLength) return `user_id is longer than ${maxLength} characters`;
  if (!USER_ID.test(userId)) return 'user_id may hold only letters, digits, ".", "_", "@" and "-", starting with a letter or digit';
  return null;
}

export function checkDisplayName(name: string, maxLength: number): Refusal {
  if ([...name].length > maxLength) return `display_name is longer than ${maxLength} characters`;
  if (name.trim().length === 0) return 'display_name is blank';
  if (/[\x00-\x1f\x7f-\x9f]/.test(name) || DISGUISING.test(name) || name.includes(REPLACEMENT)) {
    return 'display_name holds control or invisible characters, or bytes that are not UTF-8';
  }
  return null;
}

export function checkContent(content: string, maxBytes: number): Refusal {
  if (content.trim().length === 0) return 'content is empty';
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > maxBytes) return `content is ${bytes} bytes, more than ${maxBytes}`;
  if (CONTROL_IN_CONTENT.test(content) || DISGUISING.test(content)) {
    return 'content holds control characters other than newline and tab';
  }
  if (content.includes(REPLACEMENT)) return 'content is not valid UTF-8';
  return null;
}
