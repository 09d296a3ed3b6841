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

// Each member's encoded JoinAck entry, kept while the member is: a join into a
// room of N members lists all N, so a join storm would otherwise encode N² of them.
const memberEntries = new WeakMap<MemberInfo, Uint8Array>();

function memberEntry(member: MemberInfo): Uint8Array {
  let entry = memberEntries.get(member);
  if (entry === undefined) {
    const writer = new BinaryWriter();
    Member.encode({ userId: member.userId, displayName: member.displayName }, writer.uint32((4 << 3) | 2).fork()).join();
    memberEntries.set(member, (entry = writer.finish()));
  }
  return entry;
}

/** ServerEvent{joined: JoinAck}, its members spliced in from their cached entries. */
function encodeJoinAck(event: JoinAckEvent): Uint8Array {
  const head = JoinAck.encode(toJoinAck({ ...event, members: [] })).finish();
  const entries = event.members.map(memberEntry);
  const length = entries.reduce((sum, e) => sum + e.byteLength, head.byteLength);
  const prefix = new BinaryWriter().uint32((1 << 3) | 2).uint32(length).finish();
  const out = Buffer.allocUnsafeSlow(prefix.byteLength + length);
  out.set(prefix, 0);
  out.set(head, prefix.byteLength);
  let at = prefix.byteLength + head.byteLength;
  for (const entry of entries) {
    out.set(entry, at);
    at += entry.byteLength;
  }
  return out;
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
export function toServerEvent(event: DomainEvent): ServerEvent {
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
