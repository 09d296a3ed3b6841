import { ClientEnvelope, ListRoomsRequest, ListRoomsResponse, ServerEvent } from '../../gen/chat/v1/chat.js';

/**
 * ChatService as the server serves it. The same paths and messages as the
 * generated ChatServiceDefinition, except that Channel's responses are
 * ServerEvents already encoded by the domain, once per broadcast for all
 * receivers, so they pass through unchanged instead of being encoded per receiver.
 */
export const chatWireDefinition = {
  channel: {
    path: '/chat.v1.ChatService/Channel',
    requestStream: true,
    responseStream: true,
    requestSerialize: (value: ClientEnvelope) => Buffer.from(ClientEnvelope.encode(value).finish()),
    requestDeserialize: (bytes: Uint8Array) => ClientEnvelope.decode(bytes),
    responseSerialize: (frame: Uint8Array) => Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength),
    responseDeserialize: (bytes: Uint8Array) => ServerEvent.decode(bytes),
    options: {},
  },
  listRooms: {
    path: '/chat.v1.ChatService/ListRooms',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: ListRoomsRequest) => Buffer.from(ListRoomsRequest.encode(value).finish()),
    requestDeserialize: (bytes: Uint8Array) => ListRoomsRequest.decode(bytes),
    responseSerialize: (value: ListRoomsResponse) => Buffer.from(ListRoomsResponse.encode(value).finish()),
    responseDeserialize: (bytes: Uint8Array) => ListRoomsResponse.decode(bytes),
    options: {},
  },
} as const;
