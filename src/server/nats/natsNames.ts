/**
 * Where the NATS backplane keeps things (docs/scale-out.md). Room names are
 * free text; subjects and KV keys allow only a few characters, so a room
 * appears in them as its name in base64url (a stable, reversible token).
 */

/** The JetStream stream holding every room's events, one subject per room. */
export const ROOM_STREAM = 'CHAT_ROOMS';
/** KV bucket: each room's owner (its lease), by room token. */
export const OWNERS_BUCKET = 'chat_owners';
/** KV bucket: each node's heartbeat, by node id. */
export const NODES_BUCKET = 'chat_nodes';
/** KV bucket: each node's sessions in each room, by `<room token>.<node id>`. */
export const PRESENCE_BUCKET = 'chat_presence';

export function roomToken(room: string): string {
  return Buffer.from(room, 'utf8').toString('base64url');
}

/** The subject of a room's events in ROOM_STREAM. */
export function roomSubject(room: string): string {
  return `chat.room.${roomToken(room)}`;
}

/** The subject a room's owner takes commands on (core NATS request/reply). */
export function commandSubject(room: string): string {
  return `chat.cmd.${roomToken(room)}`;
}

/** A node's presence record for a room. */
export function presenceKey(room: string, node: string): string {
  return `${roomToken(room)}.${node}`;
}
