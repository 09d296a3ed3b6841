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
  /** A stream with more bytes queued is behind: its rooms take no publishes or joins until it is under the low-water mark. */
  queueHighWaterBytes: number;
  /** A stream that was behind has caught up once at most this many bytes are queued. */
  queueLowWaterBytes: number;
  /** How long a stream may stay behind (writing nothing, or reading slower than its rooms) before its rooms stop waiting for it, in ms. */
  stallGraceMs: number;
  /** How long a stream's output may wait with no write progress before it is cut off, in ms. */
  writeDeadlineMs: number;
  /** Most bytes queued for all streams together before publishing pauses server-wide. */
  queueBudgetBytes: number;
  /** Envelopes per second each stream may send (0: no limit). */
  ratePerSecond: number;
  /** Envelopes a stream may send in a burst above the rate. */
  rateBurst: number;
  /** Joins per second each stream may make (0: no limit); a resume's rejoins fit in the burst. */
  joinRatePerSecond: number;
  /** Joins a stream may make at once above the join rate. */
  joinBurst: number;
  /** Most rooms alive on this server (empty ones in their grace period included). */
  maxRooms: number;
  /** Most members (users) one room may have. */
  maxRoomMembers: number;
  /** Joins and leaves per second one room takes before it refuses joins (0: no limit). */
  roomChurnPerSecond: number;
  /** Joins and leaves a room takes at once above its churn rate. */
  roomChurnBurst: number;
  /** From this many members on, a room coalesces the fan-out of joins and leaves. */
  presenceCoalesceMembers: number;
  /** How long such a room holds joins and leaves per 1,000 members, to send them as one run (0: to the end of the event-loop turn). */
  presenceCoalesceMs: number;
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
  queueEvents: 1_000_000,
  queueBytes: 16 * 1024 * 1024,
  queueHighWaterBytes: 256 * 1024,
  queueLowWaterBytes: 64 * 1024,
  stallGraceMs: 1000,
  writeDeadlineMs: 10_000,
  queueBudgetBytes: 1024 * 1024 * 1024,
  ratePerSecond: 100,
  rateBurst: 500,
  joinRatePerSecond: 20,
  joinBurst: 64,
  maxRooms: 100_000,
  maxRoomMembers: 10_000,
  roomChurnPerSecond: 1000,
  roomChurnBurst: 10_000,
  presenceCoalesceMembers: 64,
  presenceCoalesceMs: 100,
  coalesceMs: 2,
});
