import { firstRefused } from '../lib/firstRefused.js';

/**
 * The alphabets and lengths of names, and what content may hold. Anything a
 * terminal could interpret (escape sequences, control characters other than
 * newline and tab), anything that can reorder or hide text, and text that shows
 * nothing are refused here, naming the character (src/lib/specialCharacters.ts);
 * ordinary text in any script, emoji sequences included, is accepted.
 */

const ROOM = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

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
  const refused = firstRefused(name, 'name');
  return refused ? `display_name holds ${refused.message}` : null;
}

export function checkContent(content: string, maxBytes: number): Refusal {
  if (content.trim().length === 0) return 'content is empty';
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > maxBytes) return `content is ${bytes} bytes, more than ${maxBytes}`;
  const refused = firstRefused(content, 'content');
  return refused ? `content holds ${refused.message}` : null;
}
