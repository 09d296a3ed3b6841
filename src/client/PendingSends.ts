import { randomUUID } from 'node:crypto';
import type { ConnectionEvent } from './ConnectionEvent.js';

/** A send written on the current stream, in case the server ends the stream because of it. */
interface Written {
  room: string;
  clientMsgId: string;
  bytes: number;
}

/** The server's default CHAT_MAX_CONTENT_BYTES (src/domain/limits.ts; the client layer may not import it). */
const MAX_CONTENT_BYTES = 4096;

/**
 * The sends a ChatConnection holds until the server's copy comes back, so that
 * they can go out again after a reconnect with the same client_msg_id; and those
 * written on the current stream, so that one the server refused for its size is
 * dropped instead of resent after every reconnect.
 */
export class PendingSends {
  /** Sends not yet seen come back from the server: by room (in join order), then by client_msg_id. */
  private readonly byRoom = new Map<string, Map<string, string>>();
  /** Sends written on the current stream and not yet answered, by client_msg_id. */
  private written = new Map<string, Written>();

  constructor(
    /** The connection's options, read at each send: maxPending (default 100) and maxContentBytes (default 4096). */
    private readonly limits: { maxPending?: number; maxContentBytes?: number },
  ) {}

  /** How many sends wait, in all rooms. */
  get size(): number {
    return [...this.byRoom.values()].reduce((n, sends) => n + sends.size, 0);
  }

  /** Starts holding sends for a room joined; returns its sends, by client_msg_id, oldest first. */
  addRoom(room: string): ReadonlyMap<string, string> {
    const sends = new Map<string, string>();
    this.byRoom.set(room, sends);
    return sends;
  }

  /** Forgets a room left, with its sends. */
  dropRoom(room: string): void {
    this.byRoom.delete(room);
  }

  /** Holds a new send in a room added; returns its client_msg_id, or throws when it is too big or too many wait. */
  add(room: string, content: string): string {
    const bytes = Buffer.byteLength(content);
    const maxBytes = this.limits.maxContentBytes ?? MAX_CONTENT_BYTES;
    // The server would end the whole stream for it, and a resend after every reconnect would loop.
    if (bytes > maxBytes) throw new Error(`message is ${bytes} bytes, more than ${maxBytes}`);
    if (this.size >= (this.limits.maxPending ?? 100)) throw new Error('too many messages are waiting to be sent; wait for the connection');
    const clientMsgId = randomUUID();
    this.byRoom.get(room)!.set(clientMsgId, content);
    return clientMsgId;
  }

  /** A new stream: nothing is written on it yet. */
  newStream(): void {
    this.written = new Map();
  }

  /** A send went out on the current stream. */
  wrote(room: string, clientMsgId: string, content: string): void {
    this.written.set(clientMsgId, { room, clientMsgId, bytes: Buffer.byteLength(content) });
  }

  /** The server answered a send (its copy, or an error about it): it waits no more. */
  settle(room: string, clientMsgId: string): void {
    this.byRoom.get(room)?.delete(clientMsgId);
    this.written.delete(clientMsgId);
  }

  /** Gives up every send left: yields, per room with any, how many, once they are forgotten. */
  *giveUp(): Generator<[room: string, count: number]> {
    for (const [room, sends] of this.byRoom) {
      if (sends.size === 0) continue;
      const count = sends.size;
      sends.clear();
      yield [room, count];
    }
  }

  /**
   * The server ended the stream for an envelope over its size limit (grpc-js
   * max_receive_message_length), which does not say which one: the largest send
   * written on this stream and not seen back is taken as refused, and dropped.
   * Returns the 'refused' event to pass on, if there was such a send.
   */
  refuseLargest(status: string): Extract<ConnectionEvent, { type: 'refused' }> | undefined {
    let culprit: Written | undefined;
    for (const w of this.written.values()) {
      if (this.byRoom.get(w.room)?.has(w.clientMsgId) !== true) continue;
      if (culprit === undefined || w.bytes > culprit.bytes) culprit = w;
    }
    if (culprit === undefined) return undefined;
    this.byRoom.get(culprit.room)!.delete(culprit.clientMsgId);
    return { type: 'refused', room: culprit.room, clientMsgId: culprit.clientMsgId, reason: `the server refused a message of ${culprit.bytes} bytes (${status})` };
  }
}
