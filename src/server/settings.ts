import { defaultLimits, type Limits } from '../domain/limits.js';

/** One setting: its variable, default, bounds and meaning. docs/protocol.md's settings table lists the same. */
export interface Setting<K extends string> {
  key: K;
  env: string;
  default: number;
  min: number;
  max: number;
  doc: string;
  /** The command-line flag that sets it too (and wins over the variable). */
  flag?: string;
}

type ServerKey =
  | 'port'
  | 'workers'
  | 'drainGraceMs'
  | 'keepaliveTimeMs'
  | 'keepaliveTimeoutMs'
  | 'maxMessageBytes'
  | 'maxSendMessageBytes'
  | 'coalesceWrites'
  | 'traceDeliveries'
  | 'maxStreamsPerConnection'
  | 'maxConnectionsPerIp'
  | 'natsReplicas'
  | 'nodeTtlMs'
  | 'authClockToleranceS'
  | 'authExpiryNoticeS'
  | 'authJwksCacheMs'
  | 'authJwksTimeoutMs';

const KIB = 1024;
const MIB = 1024 * 1024;
const HOUR = 3_600_000;
/** More workers than this is a typo, not a machine: `auto` is capped here too. */
export const MAX_WORKERS = 64;

/** Every numeric setting. The one place where names, defaults and bounds are decided. */
export const settings: ReadonlyArray<Setting<keyof Limits | ServerKey>> = [
  { key: 'port', env: 'CHAT_GRPC_PORT', flag: '--port', default: 50051, min: 0, max: 65535, doc: 'TCP port to listen on (0 picks a free one)' },
  { key: 'workers', env: 'CHAT_WORKERS', flag: '--workers', default: 1, min: 1, max: MAX_WORKERS, doc: 'server processes sharing the port: 1 serves in this process; more makes it a primary that forks that many workers and restarts any that dies (needs CHAT_NATS_URL, so they share rooms); `auto` is one per core' },
  { key: 'maxMessageBytes', env: 'CHAT_MAX_MESSAGE_BYTES', default: 16 * KIB, min: 1 * KIB, max: 4 * MIB, doc: 'largest envelope accepted; a larger one ends the stream with RESOURCE_EXHAUSTED' },
  { key: 'maxSendMessageBytes', env: 'CHAT_MAX_SEND_MESSAGE_BYTES', default: 4 * MIB, min: 256 * KIB, max: 64 * MIB, doc: 'largest event the server sends (gRPC clients take 4 MiB by default); a larger one ends its stream with RESOURCE_EXHAUSTED' },
  { key: 'maxContentBytes', env: 'CHAT_MAX_CONTENT_BYTES', default: defaultLimits.maxContentBytes, min: 1, max: 1 * MIB, doc: 'largest message content in UTF-8 bytes (INVALID_CONTENT above it)' },
  { key: 'maxRoomLength', env: 'CHAT_MAX_ROOM_LENGTH', default: defaultLimits.maxRoomLength, min: 1, max: 1024, doc: 'longest room name; rooms are letters, digits, `.` `_` `-`' },
  { key: 'maxUserIdLength', env: 'CHAT_MAX_USER_ID_LENGTH', default: defaultLimits.maxUserIdLength, min: 1, max: 1024, doc: 'longest user id; user ids are letters, digits, `.` `_` `@` `-`' },
  { key: 'maxDisplayNameLength', env: 'CHAT_MAX_DISPLAY_NAME_LENGTH', default: defaultLimits.maxDisplayNameLength, min: 1, max: 1024, doc: 'longest display name, in characters; no control or invisible characters' },
  { key: 'maxRoomsPerStream', env: 'CHAT_MAX_ROOMS_PER_STREAM', default: defaultLimits.maxRoomsPerStream, min: 1, max: 10_000, doc: 'rooms one stream may be in at once (TOO_MANY_ROOMS above it)' },
  { key: 'historyEvents', env: 'CHAT_HISTORY_EVENTS', default: defaultLimits.historyEvents, min: 0, max: 1_000_000, doc: 'events each room holds for history and resume' },
  { key: 'historyBytes', env: 'CHAT_HISTORY_BYTES', default: defaultLimits.historyBytes, min: 0, max: 1024 * MIB, doc: 'encoded bytes each room holds for history and resume' },
  { key: 'maxJoinHistory', env: 'CHAT_MAX_JOIN_HISTORY', default: defaultLimits.maxJoinHistory, min: 0, max: 100_000, doc: 'most messages a JoinAck carries, whatever `history` asks' },
  { key: 'roomGraceMs', env: 'CHAT_ROOM_GRACE_MS', default: defaultLimits.roomGraceMs, min: 0, max: 24 * HOUR, doc: 'how long an empty room keeps its history and sequence' },
  { key: 'queueHighWaterBytes', env: 'CHAT_QUEUE_HIGH_WATER_BYTES', default: defaultLimits.queueHighWaterBytes, min: 1 * KIB, max: 1024 * MIB, doc: 'a stream with more bytes queued is behind: its rooms read no publishes or joins until it is back under the low-water mark (the senders wait, nothing is lost)' },
  { key: 'queueLowWaterBytes', env: 'CHAT_QUEUE_LOW_WATER_BYTES', default: defaultLimits.queueLowWaterBytes, min: 0, max: 512 * MIB, doc: 'a stream that was behind has caught up once at most this many bytes are queued for it' },
  { key: 'stallGraceMs', env: 'CHAT_STALL_GRACE_MS', default: defaultLimits.stallGraceMs, min: 10, max: HOUR, doc: 'a stream that stays behind this long (it writes nothing, or reads slower than its rooms) stops holding them back, until it has caught up' },
  { key: 'writeDeadlineMs', env: 'CHAT_WRITE_DEADLINE_MS', default: defaultLimits.writeDeadlineMs, min: 20, max: 2 * HOUR, doc: 'a stream whose output waits this long with no write progress is cut off (SLOW_CONSUMER)' },
  { key: 'queueEvents', env: 'CHAT_QUEUE_EVENTS', default: defaultLimits.queueEvents, min: 16, max: 100_000_000, doc: 'events queued for one stream before it is cut off (SLOW_CONSUMER)' },
  { key: 'queueBytes', env: 'CHAT_QUEUE_BYTES', default: defaultLimits.queueBytes, min: 16 * KIB, max: 4096 * MIB, doc: 'bytes queued for one stream before it is cut off (SLOW_CONSUMER)' },
  { key: 'queueBudgetBytes', env: 'CHAT_QUEUE_BUDGET_BYTES', default: defaultLimits.queueBudgetBytes, min: 64 * KIB, max: 64 * 1024 * MIB, doc: 'bytes queued for all streams together (each counts what it has to write) before the server takes no publishes or joins; streams that stopped taking bytes are cut off first; resumes under three quarters' },
  { key: 'ratePerSecond', env: 'CHAT_RATE_PER_SECOND', default: defaultLimits.ratePerSecond, min: 0, max: 1_000_000, doc: 'envelopes per second per stream (RATE_LIMITED above it); 0 turns the limit off' },
  { key: 'rateBurst', env: 'CHAT_RATE_BURST', default: defaultLimits.rateBurst, min: 1, max: 1_000_000, doc: 'envelopes a stream may send at once above the rate' },
  { key: 'joinRatePerSecond', env: 'CHAT_JOIN_RATE_PER_SECOND', default: defaultLimits.joinRatePerSecond, min: 0, max: 1_000_000, doc: 'joins per second per stream, on top of CHAT_RATE_PER_SECOND (RATE_LIMITED above it); 0 turns the limit off' },
  { key: 'joinBurst', env: 'CHAT_JOIN_BURST', default: defaultLimits.joinBurst, min: 1, max: 1_000_000, doc: 'joins a stream may make at once above the join rate (a reconnect rejoins all its rooms at once: keep it at least CHAT_MAX_ROOMS_PER_STREAM)' },
  { key: 'maxRooms', env: 'CHAT_MAX_ROOMS', default: defaultLimits.maxRooms, min: 1, max: 10_000_000, doc: 'rooms alive on the server, empty ones in their grace period included; a join that would create one more frees the room empty longest, and with none empty gets SERVER_ROOMS_FULL' },
  { key: 'maxRoomMembers', env: 'CHAT_MAX_ROOM_MEMBERS', default: defaultLimits.maxRoomMembers, min: 1, max: 10_000_000, doc: 'members (users) of one room; a join of one more gets ROOM_FULL (another session of a member still joins)' },
  { key: 'roomChurnPerSecond', env: 'CHAT_ROOM_CHURN_PER_SECOND', default: defaultLimits.roomChurnPerSecond, min: 0, max: 10_000_000, doc: 'members coming or going per second in one room; above it joins get ROOM_BUSY (leaves are never refused); 0 turns the limit off' },
  { key: 'roomChurnBurst', env: 'CHAT_ROOM_CHURN_BURST', default: defaultLimits.roomChurnBurst, min: 1, max: 10_000_000, doc: 'members a room takes coming or going at once above its churn rate' },
  { key: 'maxStreamsPerConnection', env: 'CHAT_MAX_STREAMS_PER_CONNECTION', default: 1000, min: 1, max: 1_000_000, doc: 'Channel streams open at once on one connection; one more ends at once with RESOURCE_EXHAUSTED (TOO_MANY_STREAMS)' },
  { key: 'maxConnectionsPerIp', env: 'CHAT_MAX_CONNECTIONS_PER_IP', default: 1000, min: 1, max: 1_000_000, doc: 'connections with Channel streams open from one IP address; a stream on one more ends at once with RESOURCE_EXHAUSTED (TOO_MANY_CONNECTIONS)' },
  { key: 'presenceCoalesceMembers', env: 'CHAT_PRESENCE_COALESCE_MEMBERS', default: defaultLimits.presenceCoalesceMembers, min: 1, max: 10_000_000, doc: 'from this many members on, a room coalesces its joins and leaves (CHAT_PRESENCE_COALESCE_MS)' },
  { key: 'presenceCoalesceMs', env: 'CHAT_PRESENCE_COALESCE_MS', default: defaultLimits.presenceCoalesceMs, min: 0, max: 1000, doc: 'how long such a room holds its joins and leaves per 1,000 members (at most 1 s), to send them as one run: a storm costs a few writes per member, not one per join; 0 holds them to the end of the event-loop turn' },
  { key: 'coalesceMs', env: 'CHAT_COALESCE_MS', default: defaultLimits.coalesceMs, min: 0, max: 1000, doc: 'how long a room holds its events to send them to each member in one write: fewer writes for a little latency; 0 sends at once' },
  { key: 'coalesceWrites', env: 'CHAT_COALESCE_WRITES', default: 1, min: 0, max: 1, doc: 'write the events waiting for a stream in one HTTP/2 write (1), or one write per event (0: no grpc-js hook)' },
  { key: 'keepaliveTimeMs', env: 'CHAT_KEEPALIVE_TIME_MS', default: 30_000, min: 1_000, max: 2 * HOUR, doc: 'idle time before the server pings a connection' },
  { key: 'keepaliveTimeoutMs', env: 'CHAT_KEEPALIVE_TIMEOUT_MS', default: 10_000, min: 1_000, max: HOUR, doc: 'how long a ping may go unanswered before the connection is closed and its streams end' },
  { key: 'traceDeliveries', env: 'CHAT_TRACE_DELIVERIES', default: 8, min: 0, max: 100_000, doc: 'with telemetry on: receivers per frame (a message on its own, or a run of a room’s messages written to its members) whose write of it gets a `chat.deliver` span, the first ones written to, bounding the cost in big rooms' },
  { key: 'natsReplicas', env: 'CHAT_NATS_REPLICAS', default: 1, min: 1, max: 5, doc: 'with `CHAT_NATS_URL`: replicas of the backplane’s stream and KV buckets (1 for one NATS server, 3 for a cluster of three or more)' },
  { key: 'nodeTtlMs', env: 'CHAT_NODE_TTL_MS', default: 15_000, min: 15_000, max: HOUR, doc: 'with `CHAT_NATS_URL`: how long a node’s heartbeat and a room owner’s lease last unrenewed; a dead node’s members leave this long (plus a sweep of up to 2 s) after it stops; at least 15 s, which rides out a NATS leader failover' },
  { key: 'authClockToleranceS', env: 'CHAT_AUTH_CLOCK_TOLERANCE_S', default: 0, min: 0, max: 300, doc: 'with auth on: seconds of clock skew allowed when checking a token’s `exp` and `nbf`; a stream ends this long after its token’s `exp`' },
  { key: 'authExpiryNoticeS', env: 'CHAT_AUTH_EXPIRY_NOTICE_S', default: 30, min: 1, max: 3600, doc: 'with auth on: how long before its token expires a stream gets the TOKEN_EXPIRING notice (a RefreshToken in time keeps it open)' },
  { key: 'authJwksCacheMs', env: 'CHAT_AUTH_JWKS_CACHE_MS', default: 600_000, min: 0, max: 24 * HOUR, doc: 'with `CHAT_AUTH_JWKS` a URL: how long fetched keys are used before they are fetched again (a token with an unknown `kid` fetches at once, at most every 30 s)' },
  { key: 'authJwksTimeoutMs', env: 'CHAT_AUTH_JWKS_TIMEOUT_MS', default: 5_000, min: 100, max: 60_000, doc: 'with `CHAT_AUTH_JWKS` a URL: how long a fetch of the keys may take; a call waiting for it fails UNAVAILABLE (KEYS_UNAVAILABLE)' },
  { key: 'drainGraceMs', env: 'CHAT_DRAIN_GRACE_MS', default: 5_000, min: 0, max: HOUR, doc: 'on SIGINT/SIGTERM, how long streams get to flush before the server is closed by force' },
];
