import type { ChatPayload, JoinAck, ServerNotice } from '../../src/client/ChatEvent.js';
import type { ConnectionEvent } from '../../src/client/ConnectionEvent.js';
import { ChatModel } from '../../src/tui/ChatModel.js';
import { ServerNotice_Type } from '../../gen/chat/v1/chat.js';

/**
 * Synthetic ConnectionEvents for model and pane tests: what a ChatConnection
 * would pass on, without a server. Fields not given get harmless defaults.
 */

let seq = 0;

export function payload(room: string, fields: Partial<ChatPayload> = {}): ChatPayload {
  seq += 1;
  return {
    userId: 'bob',
    room,
    content: `message ${seq}`,
    timestampUtc: Date.UTC(2024, 0, 1, 12, 0, 0) + seq,
    seq,
    displayName: 'Bob',
    clientMsgId: `id-${seq}`,
    traceContext: {},
    ...fields,
  };
}

export function joined(room: string, ack: Partial<JoinAck> = {}): ConnectionEvent {
  return {
    type: 'joined',
    room,
    ack: { userId: 'me', room, welcomeMessage: `Welcome to #${room}`, members: [{ userId: 'me', displayName: 'Me' }], history: [], lastSeq: 0, epoch: 'e1', recovered: false, ...ack },
  };
}

export function message(room: string, fields: Partial<ChatPayload> = {}): ConnectionEvent {
  return { type: 'message', room, message: payload(room, fields) };
}

export function notice(fields: Partial<ServerNotice> = {}): ServerNotice {
  return { type: ServerNotice_Type.TYPE_GENERIC, message: '', userId: '', room: '', seq: 0, displayName: '', code: '', clientMsgId: '', missedCount: 0, ...fields };
}

export function presence(type: 'user_joined' | 'user_left', room: string, userId: string, displayName = ''): ConnectionEvent {
  const kind = type === 'user_joined' ? ServerNotice_Type.TYPE_USER_JOINED : ServerNotice_Type.TYPE_USER_LEFT;
  return { type, room, notice: notice({ type: kind, room, userId, displayName, seq: ++seq }) };
}

export function error(room: string, code: string, text: string, clientMsgId = ''): ConnectionEvent {
  return { type: 'error', room, notice: notice({ type: ServerNotice_Type.TYPE_ERROR, room, code, message: text, clientMsgId }) };
}

export function generic(room: string, text: string): ConnectionEvent {
  return { type: 'notice', room, notice: notice({ room, message: text }) };
}

/** A model for user "me" (display name "Me") with `events` applied. */
export function modelWith(...events: ConnectionEvent[]): ChatModel {
  const model = new ChatModel({ userId: 'me', displayName: 'Me' });
  for (const event of events) model.apply(event);
  return model;
}
