/** What bench/run.ts and its worker processes tell each other over IPC. */

export interface WorkerTask {
  /**
   * The servers (host:port), one per process of a cluster: connection i goes to
   * addresses[i % length], and client i uses connection i % connections. The
   * orchestrator rotates the list for each worker, so that the whole scenario's
   * clients, senders included, spread round robin over the servers.
   */
  addresses: string[];
  /** This worker's clients and their rooms; senderIndex is -1 for a client that only receives. */
  clients: Array<{ userId: string; room: string; senderIndex: number }>;
  /** TCP connections this worker spreads its clients over. */
  connections: number;
  /** Senders in the whole scenario (for per-sender order tracking). */
  totalSenders: number;
  messagesPerSender: number;
  /** Index of each sender's first message in this phase (warm-up comes first). */
  firstIndex: number;
  /** Record latency and the first send time in this phase (false: warm-up). */
  measure: boolean;
  /** Messages per second per sender; 0 is full speed. */
  ratePerSender: number;
  /** Content size of each message. */
  payloadBytes: number;
  /** Ask the server to batch events (ours only; the original proto has no such field). */
  batch: boolean;
  /** Join at setup (false: wait for a 'join' message, for the join storm). */
  joinNow: boolean;
  /** Clients that loop join/leave during the run instead of staying. */
  churners: string[];
  churnMs: number;
  /** Distinct members a client should see once presence is quiet. */
  expectedPresence: number;
}

export interface WorkerReport {
  members: number;
  acked: number;
  received: number;
  outOfOrder: number;
  seqGaps: number;
  joinNotices: number;
  presenceExact: number;
  cutOff: string[];
  latency: { counts: number[]; max: number };
  churnRounds: number;
  /** hrtime (µs, shared by all processes) of this worker's first send, 0 if none. */
  firstSendUs: number;
  /** hrtime (µs) of the last message this worker's members received. */
  lastReceiveUs: number;
}
