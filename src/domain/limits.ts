/** Every bound the domain enforces; src/server/config.ts reads each from a CHAT_* variable. */
export interface Limits {
  /** Longest room name, in characters. */
  maxRoomLength: number;
  /** Longest user id, in characters. */
  maxUserIdLength: number;
  /** Longest display name, in characters (code points). */
  maxDisplayNameLength: number;
  /** Largest message content, in UTF-8 bytes. */
  maxContentBytes: number;
  /** Most rooms one stream may be in at once. */
  maxRoomsPerStream: number;
  /** Events each room keeps for history and resume. */
  historyEvents: number;
  /** Bytes (encoded) each room keeps for history and resume. */
  historyBytes: number;
  /** Most messages a JoinAck carries, whatever `history` asks. */
  maxJoinHistory: number;
  /** How long an empty room keeps its history and sequence, in ms. */
  roomGraceMs: number;
  /** Most events queued for one stream before it is cut off as a slow consumer. */
  queueEvents: number;
  /** Most bytes queued for one stream before it is cut off as a slow consumer. */
  queueBytes: number;
  /** Envelopes per second each stream may send (0: no limit). */
  ratePerSecond: number;
  /** Envelopes a stream may send in a burst above the rate. */
  rateBurst: number;
  /** From this many members on, a room coalesces the fan-out of joins and leaves. */
  presenceCoalesceMembers: number;
  /** How long a room holds its events to send them as one batch to clients that take batches (0: no wait). */
  coalesceMs: number;
}

export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxRoomLength: 64,
  maxUserIdLength: 64,
  maxDisplayNameLength: 64,
  maxContentBytes: 4096,
  maxRoomsPerStream: 32,
  historyEvents: 1000,
  historyBytes: 512 * 1024,
  maxJoinHistory: 200,
  roomGraceMs: 60_000,
  queueEvents: 4096,
  queueBytes: 2 * 1024 * 1024,
  ratePerSecond: 100,
  rateBurst: 500,
  presenceCoalesceMembers: 64,
  coalesceMs: 2,
});
