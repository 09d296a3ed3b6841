/**
 * The baseline: a deliberately plain @grpc/grpc-js server of the same chat.v1,
 * built the obvious way (as the original Go server is): rooms are sets of calls,
 * every event is encoded once per receiver, no sequence, no history, no limits,
 * and writes are never refused (grpc-js buffers without bound, so it is lossless).
 * Run: node --import tsx bench/baselineServer.ts [port]; prints {"event":"listening","port":N}.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ClientEnvelope,
  ListRoomsResponse,
  ServerEvent,
  ServerNotice_Type,
} from '../gen/chat/v1/chat.js';

type Call = grpc.ServerDuplexStream<ClientEnvelope, ServerEvent>;

const rooms = new Map<string, Set<Call>>();
const users = new WeakMap<Call, string>();

function notice(type: ServerNotice_Type, userId: string, room: string): ServerEvent {
  const verb = type === ServerNotice_Type.TYPE_USER_JOINED ? 'joined' : 'left';
  return {
    event: {
      $case: 'notice',
      value: { type, message: `${userId} ${verb}`, userId, room, seq: 0, displayName: userId, code: '', clientMsgId: '', missedCount: 0 },
    },
  };
}

function broadcast(room: string, event: ServerEvent): void {
  for (const call of rooms.get(room) ?? []) call.write(event); // encoded per receiver by the serializer
}

function leave(call: Call, room: string): void {
  const members = rooms.get(room);
  if (!members?.delete(call)) return;
  broadcast(room, notice(ServerNotice_Type.TYPE_USER_LEFT, users.get(call) ?? '', room));
  if (members.size === 0) rooms.delete(room);
}

function channel(call: Call): void {
  const joined = new Set<string>();
  call.on('data', (envelope: ClientEnvelope) => {
    const m = envelope.message;
    if (m?.$case === 'join') {
      users.set(call, m.value.userId);
      broadcast(m.value.room, notice(ServerNotice_Type.TYPE_USER_JOINED, m.value.userId, m.value.room));
      let members = rooms.get(m.value.room);
      if (!members) rooms.set(m.value.room, (members = new Set()));
      members.add(call);
      joined.add(m.value.room);
      call.write({
        event: {
          $case: 'joined',
          value: { userId: m.value.userId, room: m.value.room, welcomeMessage: 'welcome', members: [], history: [], lastSeq: 0, epoch: '', recovered: false },
        },
      });
    } else if (m?.$case === 'chat') {
      broadcast(m.value.room, {
        event: { $case: 'broadcast', value: { ...m.value, userId: users.get(call) ?? '', timestampUtc: Date.now() } },
      });
    } else if (m?.$case === 'leave') {
      joined.delete(m.value.room);
      leave(call, m.value.room);
    }
  });
  const end = () => {
    for (const room of joined) leave(call, room);
    joined.clear();
  };
  call.on('end', () => {
    end();
    call.end();
  });
  call.on('cancelled', end);
  call.on('error', end);
}

const server = new grpc.Server();
server.addService(
  {
    channel: {
      path: '/chat.v1.ChatService/Channel',
      requestStream: true,
      responseStream: true,
      requestSerialize: (v: ClientEnvelope) => Buffer.from(ClientEnvelope.encode(v).finish()),
      requestDeserialize: (b: Buffer) => ClientEnvelope.decode(b),
      responseSerialize: (v: ServerEvent) => Buffer.from(ServerEvent.encode(v).finish()),
      responseDeserialize: (b: Buffer) => ServerEvent.decode(b),
    },
    listRooms: {
      path: '/chat.v1.ChatService/ListRooms',
      requestStream: false,
      responseStream: false,
      requestSerialize: () => Buffer.alloc(0),
      requestDeserialize: () => ({}),
      responseSerialize: (v: ListRoomsResponse) => Buffer.from(ListRoomsResponse.encode(v).finish()),
      responseDeserialize: (b: Buffer) => ListRoomsResponse.decode(b),
    },
  },
  {
    channel,
    listRooms: (_call: unknown, callback: grpc.sendUnaryData<ListRoomsResponse>) =>
      callback(null, { rooms: [...rooms].map(([room, m]) => ({ room, memberCount: m.size, lastSeq: 0, epoch: '' })) }),
  },
);
server.bindAsync(`127.0.0.1:${process.argv[2] ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ event: 'listening', port }));
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
