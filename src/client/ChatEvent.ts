import {
  type ChatPayload,
  type JoinAck,
  type ServerEvent,
  type ServerNotice,
  ServerNotice_Type,
} from '../../gen/chat/v1/chat.js';

export type { ChatPayload, JoinAck, ServerNotice };

/** A server event, typed by what it means to a client. */
export type ChatEvent =
  | { type: 'joined'; room: string; ack: JoinAck }
  | { type: 'message'; room: string; message: ChatPayload }
  | { type: 'user_joined' | 'user_left'; room: string; notice: ServerNotice }
  | { type: 'error'; room: string; notice: ServerNotice }
  | { type: 'notice'; room: string; notice: ServerNotice };

const noticeTypes: Record<ServerNotice_Type, ChatEvent['type']> = {
  [ServerNotice_Type.TYPE_GENERIC]: 'notice',
  [ServerNotice_Type.TYPE_USER_JOINED]: 'user_joined',
  [ServerNotice_Type.TYPE_USER_LEFT]: 'user_left',
  [ServerNotice_Type.TYPE_ERROR]: 'error',
  [ServerNotice_Type.UNRECOGNIZED]: 'notice',
};

/** Types a decoded ServerEvent, unpacking a batch; nothing for an event with nothing set. */
export function toChatEvents(raw: ServerEvent): ChatEvent[] {
  if (raw.event?.$case === 'batch') return raw.event.value.events.flatMap(toChatEvents);
  const event = toChatEvent(raw);
  return event === undefined ? [] : [event];
}

function toChatEvent({ event }: ServerEvent): ChatEvent | undefined {
  switch (event?.$case) {
    case 'joined':
      return { type: 'joined', room: event.value.room, ack: event.value };
    case 'broadcast':
      return { type: 'message', room: event.value.room, message: event.value };
    case 'notice':
      return { type: noticeTypes[event.value.type], room: event.value.room, notice: event.value } as ChatEvent;
    default:
      return undefined;
  }
}

/** The seq of a room event (message, join or leave notice), or 0. */
export function seqOf(event: ChatEvent): number {
  if (event.type === 'message') return event.message.seq;
  if (event.type === 'user_joined' || event.type === 'user_left') return event.notice.seq;
  return 0;
}
