import {
  ChatPayload,
  JoinAck,
  Member,
  ServerEvent,
  ServerNotice,
  ServerNotice_Type,
} from '../../gen/chat/v1/chat.js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { ChatMessage, DomainEvent, JoinAckEvent, MemberInfo } from '../domain/events.js';

/** Encodes a domain event as the ServerEvent bytes every receiver gets. */
export function encodeEvent(event: DomainEvent): Uint8Array {
  if (event.kind === 'ack') return encodeJoinAck(event);
  return ServerEvent.encode(toServerEvent(event)).finish();
}

/** ServerEvent{joined: JoinAck}, its member list copied whole from the room's roster. */
function encodeJoinAck(event: JoinAckEvent): Uint8Array {
  const head = JoinAck.encode(toJoinAck({ ...event, members: [] })).finish();
  const members = encodedMembers(event.members);
  const length = head.byteLength + members.byteLength;
  const prefix = new BinaryWriter().uint32((1 << 3) | 2).uint32(length).finish();
  const out = Buffer.allocUnsafeSlow(prefix.byteLength + length);
  out.set(prefix, 0);
  out.set(head, prefix.byteLength);
  out.set(members, prefix.byteLength + head.byteLength);
  return out;
}

/** A room's member list as JoinAck field 4 entries, with where each member's entry ends. */
interface Roster {
  infos: MemberInfo[];
  ends: number[];
  bytes: Buffer;
}

// A join into a room of N members lists all N, so a join storm would encode N²
// entries. The room's members keep their order and objects while they stay, so
// the encoded list of the last JoinAck is usually this one's prefix: reuse it
// and append. Keyed by the first member, which identifies the room's list.
const rosters = new WeakMap<MemberInfo, Roster>();

function encodedMembers(members: MemberInfo[]): Uint8Array {
  const first = members[0];
  if (first === undefined) return new Uint8Array(0);
  let roster = rosters.get(first);
  let kept = 0;
  if (roster !== undefined) {
    while (kept < roster.infos.length && kept < members.length && roster.infos[kept] === members[kept]) kept += 1;
  } else rosters.set(first, (roster = { infos: [], ends: [], bytes: Buffer.allocUnsafeSlow(4096) }));
  roster.infos.length = kept;
  roster.ends.length = kept;
  let at = kept === 0 ? 0 : roster.ends[kept - 1]!;
  for (let i = kept; i < members.length; i++) {
    const info = members[i]!;
    const writer = new BinaryWriter();
    Member.encode({ userId: info.userId, displayName: info.displayName }, writer.uint32((4 << 3) | 2).fork()).join();
    const entry = writer.finish();
    if (at + entry.byteLength > roster.bytes.byteLength) {
      const grown = Buffer.allocUnsafeSlow(2 * (at + entry.byteLength));
      grown.set(roster.bytes.subarray(0, at));
      roster.bytes = grown;
    }
    roster.bytes.set(entry, at);
    at += entry.byteLength;
    roster.infos.push(info);
    roster.ends.push(at);
  }
  return roster.bytes.subarray(0, at);
}

function toJoinAck(event: JoinAckEvent): JoinAck {
  return JoinAck.fromPartial({
    userId: event.userId,
    room: event.room,
    welcomeMessage: event.welcome,
    members: event.members.map(({ userId, displayName }) => ({ userId, displayName })),
    history: event.history.map(toChatPayload),
    lastSeq: event.lastSeq,
    epoch: event.epoch,
    recovered: event.recovered,
  });
}

/** The ServerEvent a domain event becomes on the wire. */
function toServerEvent(event: DomainEvent): ServerEvent {
  switch (event.kind) {
    case 'message':
      return { event: { $case: 'broadcast', value: toChatPayload(event.message) } };
    case 'user_joined':
    case 'user_left':
      return notice({
        type: event.kind === 'user_joined' ? ServerNotice_Type.TYPE_USER_JOINED : ServerNotice_Type.TYPE_USER_LEFT,
        message: `${event.displayName} ${event.kind === 'user_joined' ? 'joined' : 'left'} #${event.room}`,
        userId: event.userId,
        room: event.room,
        seq: event.seq,
        displayName: event.displayName,
      });
    case 'session_left':
      return notice({
        type: ServerNotice_Type.TYPE_USER_LEFT,
        message: `you left #${event.room} on this stream; your other sessions are still there`,
        userId: event.userId,
        room: event.room,
        displayName: event.displayName,
      });
    case 'ack':
      return { event: { $case: 'joined', value: toJoinAck(event) } };
    case 'error':
    case 'generic':
      return notice({
        type: event.kind === 'error' ? ServerNotice_Type.TYPE_ERROR : ServerNotice_Type.TYPE_GENERIC,
        message: event.message,
        room: event.room,
        code: event.code,
        userId: event.userId ?? '',
        clientMsgId: event.clientMsgId ?? '',
        missedCount: event.missedCount ?? 0,
      });
  }
}

function notice(fields: Partial<ServerNotice>): ServerEvent {
  return { event: { $case: 'notice', value: ServerNotice.fromPartial(fields) } };
}

function toChatPayload(m: ChatMessage): ChatPayload {
  return {
    userId: m.userId,
    room: m.room,
    content: m.content,
    timestampUtc: m.timestampUtc,
    seq: m.seq,
    displayName: m.displayName,
    clientMsgId: m.clientMsgId,
    traceContext: m.traceContext,
  };
}
