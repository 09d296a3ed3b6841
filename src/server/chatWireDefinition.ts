import { ClientEnvelope, ListRoomsRequest, ListRoomsResponse, ServerEvent } from '../../gen/chat/v1/chat.js';
import { FramedWrite } from './FramedWrite.js';

/**
 * nice-grpc passes what a serializer returns through Buffer.from(), which copies
 * a Uint8Array but only wraps an ArrayBuffer. A frame that owns its whole
 * ArrayBuffer is handed over as that ArrayBuffer, saving one copy per write
 * (grpc-js still makes its own, with the gRPC message header). The type says
 * Buffer because that is the contract; Buffer.from treats both alike.
 */
function handOver(frame: Uint8Array | FramedWrite): Buffer {
  // The hook (FramedWrite.install) writes these before any serializer sees them.
  if (frame instanceof FramedWrite) throw new Error('a FramedWrite reached the serializer: the grpc-js hook is not installed');
  if (frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength) return frame.buffer as unknown as Buffer;
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * ChatService as the server serves it. The same paths and messages as the
 * generated ChatServiceDefinition, except that Channel's responses are
 * ServerEvents already encoded by the domain, once per broadcast for all
 * receivers, so they pass through unchanged instead of being encoded per receiver,
 * or FramedWrites of several such events, which the grpc-js hook writes as they are.
 */
export const chatWireDefinition = {
  channel: {
    path: '/chat.v1.ChatService/Channel',
    requestStream: true,
    responseStream: true,
    requestSerialize: (value: ClientEnvelope) => Buffer.from(ClientEnvelope.encode(value).finish()),
    requestDeserialize: (bytes: Uint8Array) => ClientEnvelope.decode(bytes),
    responseSerialize: handOver,
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
