/** What the domain sends to a session. The adapter encodes each into a ServerEvent. */

/** A chat message as sequenced by its room. */
export interface ChatMessage {
  room: string;
  seq: number;
  userId: string;
  displayName: string;
  content: string;
  /** Milliseconds since the Unix epoch, when the room sequenced it. */
  timestampUtc: number;
  clientMsgId: string;
  traceContext: Record<string, string>;
}

/** A user present in a room. */
export interface MemberInfo {
  userId: string;
  displayName: string;
}

/** An event of a room's sequence: what history holds and resume replays. */
export type SequencedEvent =
  | { kind: 'message'; message: ChatMessage }
  | {
      kind: 'user_joined' | 'user_left';
      room: string;
      seq: number;
      userId: string;
      displayName: string;
    };

/** The answer to a join. */
export interface JoinAckEvent {
  kind: 'ack';
  room: string;
  userId: string;
  welcome: string;
  members: MemberInfo[];
  history: ChatMessage[];
  lastSeq: number;
  epoch: string;
  recovered: boolean;
}

/** A notice for one session: an error about a request, or a special notice. */
export interface NoticeEvent {
  kind: 'error' | 'generic';
  code: string;
  message: string;
  room: string;
  userId?: string;
  clientMsgId?: string;
  /** For MISSED_EVENTS: events lost, 0 when unknown. */
  missedCount?: number;
  /** For a session's own leave that announced nothing: its user and name. */
  displayName?: string;
}

/** A leave that concerns only the leaving session (the user is still there on another). */
export interface SessionLeftEvent {
  kind: 'session_left';
  room: string;
  userId: string;
  displayName: string;
}

export type DomainEvent = SequencedEvent | JoinAckEvent | NoticeEvent | SessionLeftEvent;

/** Encodes an event once into the bytes every receiver gets. Supplied by the adapter. */
export type EncodeEvent = (event: DomainEvent) => Uint8Array;

/** The sequence number of a sequenced event. */
export function seqOf(event: SequencedEvent): number {
  return event.kind === 'message' ? event.message.seq : event.seq;
}
