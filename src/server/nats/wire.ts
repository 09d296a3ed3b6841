import type { ChatMessage, SequencedEvent } from '../../domain/events.js';
import type { JoinView } from '../../domain/RoomSequencer.js';

/** What a node asks a room's owner (JSON, core NATS request/reply on the room's command subject). */
export type Command =
  | { op: 'join'; node: string; session: string; userId: string; displayName: string }
  | { op: 'leave'; node: string; session: string; userId: string }
  | ({ op: 'publish'; node: string } & Pick<ChatMessage, 'userId' | 'displayName' | 'content' | 'clientMsgId' | 'traceContext'>);

/** The owner's answer, once what the command sequenced is stored. */
export type Reply = { ok: true; view?: JoinView; seq?: number } | { ok: false; code: string; message: string };

/**
 * A room's events as the stream holds them (JSON): what the owner sequenced
 * while its previous append was in flight, stored as one message (a group
 * commit), oldest first.
 */
export interface StoredBatch {
  epoch: string;
  events: SequencedEvent[];
}
