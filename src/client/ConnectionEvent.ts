import type { ChatEvent } from './ChatEvent.js';

/** Where a ChatConnection stands. */
export type ConnectionState =
  /** Opening a stream to `address` (host:port). */
  | { kind: 'connecting'; address: string }
  /** On `address`. */
  | { kind: 'connected'; address: string }
  /**
   * Waiting to try again: attempt `attempt` (since the last stream that worked) goes
   * to `address` at `at` (epoch ms); `reason` is why the last one ended.
   */
  | { kind: 'reconnecting'; attempt: number; at: number; reason: string; address: string }
  /** For good: closed by the user, or refused in a way retrying cannot fix (`reason`). */
  | { kind: 'closed'; reason?: string };

/**
 * What a ChatConnection tells its listeners: the server's events (each room
 * event once, in order, across reconnects) plus what the connection itself did.
 */
export type ConnectionEvent =
  | ChatEvent
  | { type: 'state'; state: ConnectionState }
  /** A send is waiting for the server's copy (it is shown as pending until then). */
  | { type: 'pending'; room: string; clientMsgId: string; content: string }
  /**
   * A rejoin's replay is through: `restored` messages came back. `complete` when
   * that was everything missed; otherwise a `missed` event says what was lost.
   */
  | { type: 'resumed'; room: string; restored: number; complete: boolean }
  /**
   * A rejoin could not replay everything: `missed` events are gone (0: unknown);
   * `restarted` when the room's sequence started over (server restart, room freed).
   */
  | { type: 'missed'; room: string; missed: number; restarted: boolean }
  /** The server ended the stream because of this send (too big): it is dropped, not resent. */
  | { type: 'refused'; room: string; clientMsgId: string; reason: string }
  /** The connection closed for good with `count` sends in the room never delivered. */
  | { type: 'unsent'; room: string; count: number };
