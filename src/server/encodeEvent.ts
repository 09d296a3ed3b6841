import {
  ChatPayload,
  JoinAck,
  ServerEvent,
  ServerNotice,
  ServerNotice_Type,
} from '../../gen/chat/v1/chat.js';
import type { ChatMessage, DomainEvent } from '../domain/events.js';

/** Encodes a domain event as the ServerEvent bytes every receiver gets. */
export function encodeEvent(event: DomainEvent): Uint8Array {
  return ServerEvent.encode(toServerEvent(event)).finish();
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
      return {
        event: {
          $case: 'joined',
          value: JoinAck.fromPartial({
            userId: event.userId,
            room: event.room,
            welcomeMessage: event.welcome,
            members: event.members,
            history: event.history.map(toChatPayload),
            lastSeq: event.lastSeq,
            epoch: event.epoch,
            recovered: event.recovered,
          }),
        },
      };
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
