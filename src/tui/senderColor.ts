/** Colours a sender can get: readable on dark and light backgrounds, none used for notices or errors. */
const PALETTE = ['cyan', 'green', 'magenta', 'blue', 'yellow', 'cyanBright', 'greenBright', 'magentaBright'] as const;

/** The same colour for the same user id, on every run and in every client (FNV-1a of the id). */
export function senderColor(userId: string): (typeof PALETTE)[number] {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) hash = Math.imul(hash ^ userId.charCodeAt(i), 0x01000193);
  return PALETTE[(hash >>> 0) % PALETTE.length]!;
}
