/**
 * A load worker: one process running a share of a scenario's clients over raw
 * @grpc/grpc-js calls, told what to do by bench/run.ts over IPC. It encodes
 * envelopes with the generated code and reads events with scanEvents, so that its
 * own cost per message stays small.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ClientEnvelope } from '../gen/chat/v1/chat.js';
import { Histogram } from './Histogram.js';
import { scanServerEvent, type ScannedEvent } from './scanEvents.js';
import type { WorkerReport, WorkerTask } from './protocol.js';

const PATH = '/chat.v1.ChatService/Channel';
const FLOW_CONTROL_WINDOW = 4 * 1024 * 1024;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

interface Member {
  userId: string;
  room: string;
  senderIndex: number; // -1 when it only receives
  call: grpc.ClientDuplexStream<Buffer, Buffer>;
  acked: boolean;
  presence: number; // the JoinAck's members + joins seen - leaves seen
  ownJoinSeen: boolean;
  received: number;
  lastIndex: Int32Array; // per sender, the last message index seen
  lastSeq: number;
  seqGaps: number;
  outOfOrder: number;
  joinNotices: number;
  cutOff: string;
}

const encode = (envelope: ClientEnvelope) => Buffer.from(ClientEnvelope.encode(envelope).finish());
const join = (userId: string, room: string, batch: boolean): ClientEnvelope => ({
  message: {
    $case: 'join',
    value: { userId, room, displayName: userId, afterSeq: 0, history: 0, epoch: '', batchEvents: batch },
  },
});

let task: WorkerTask;
const clients: grpc.Client[] = [];
const members: Member[] = [];
const latency = new Histogram();
let measuring = false;
let firstSendUs = 0;
let lastReceiveUs = 0;

function connect(): void {
  for (let i = 0; i < task.connections; i++) {
    // A local subchannel pool gives each client its own TCP connection; the connections go round the servers.
    clients.push(
      new grpc.Client(task.addresses[i % task.addresses.length]!, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        // HTTP/2's default 64 KiB window would throttle a connection of 100 streams.
        'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
      }),
    );
  }
}

function open(userId: string, room: string, senderIndex: number, index: number): Member {
  const client = clients[index % clients.length]!;
  const call = client.makeBidiStreamRequest(PATH, (b: Buffer) => b, (b: Buffer) => b) as grpc.ClientDuplexStream<Buffer, Buffer>;
  const m: Member = {
    userId, room, senderIndex, call, acked: false, presence: 0, ownJoinSeen: false, received: 0,
    lastIndex: new Int32Array(task.totalSenders).fill(-1), lastSeq: 0, seqGaps: 0, outOfOrder: 0, joinNotices: 0, cutOff: '',
  };
  call.on('data', (buf: Buffer) => scanServerEvent(buf, (e) => onEvent(m, e)));
  call.on('error', (error: grpc.ServiceError) => {
    if (error.code !== grpc.status.CANCELLED) m.cutOff = `${grpc.status[error.code]}: ${error.details}`;
  });
  return m;
}

function onEvent(m: Member, e: ScannedEvent): void {
  if (e.kind === 1) {
    m.acked = true;
    m.lastSeq = e.seq;
    m.presence = e.members;
    m.ownJoinSeen = false;
    return;
  }
  if (e.seq > 0) {
    if (m.lastSeq > 0 && e.seq !== m.lastSeq + 1) m.seqGaps += 1;
    m.lastSeq = e.seq;
  }
  if (e.kind === 3) {
    // The JoinAck counted the joiner, whose own join notice comes right after it:
    // that one notice is not a new member.
    if (e.noticeType === 1) {
      m.joinNotices += 1;
      if (m.ownJoinSeen) m.presence += 1;
      else m.ownJoinSeen = true;
    } else if (e.noticeType === 2) m.presence -= 1;
    return;
  }
  const { sender, index, sentUs: sent } = e;
  m.received += 1;
  if (index <= m.lastIndex[sender]!) m.outOfOrder += 1;
  else m.lastIndex[sender] = index;
  const now = nowUs();
  lastReceiveUs = now;
  if (measuring) latency.record(now - sent);
}

async function send(m: Member): Promise<void> {
  const pad = 'x'.repeat(Math.max(0, task.payloadBytes - 24));
  const interval = task.ratePerSender > 0 ? 1000 / task.ratePerSender : 0;
  const start = performance.now();
  for (let n = 0; n < task.messagesPerSender; n++) {
    const i = task.firstIndex + n;
    if (interval > 0) {
      const due = start + n * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const sentAt = nowUs();
    if (firstSendUs === 0 && measuring) firstSendUs = sentAt;
    const content = `${m.senderIndex}:${i}:${sentAt}:${pad}`;
    const ok = m.call.write(encode({ message: { $case: 'chat', value: { userId: m.userId, room: m.room, content, timestampUtc: 0, seq: 0, displayName: '', clientMsgId: '', traceContext: {} } } }));
    if (!ok) await once(m.call, 'drain');
  }
}

async function churn(m: Member, until: number): Promise<number> {
  let rounds = 0;
  while (Date.now() < until && !m.cutOff) {
    m.acked = false;
    m.call.write(encode(join(m.userId, m.room, task.batch)));
    while (!m.acked && !m.cutOff) await new Promise((r) => setImmediate(r));
    m.call.write(encode({ message: { $case: 'leave', value: { userId: m.userId, room: m.room } } }));
    rounds += 1;
  }
  return rounds;
}

function report(extra: Partial<WorkerReport> = {}): WorkerReport {
  const sum = (f: (m: Member) => number) => members.reduce((s, m) => s + f(m), 0);
  // Churners come and go: order and completeness are judged on the members that stay.
  const stable = members.filter((m) => !task.churners.includes(m.userId));
  const sumStable = (f: (m: Member) => number) => stable.reduce((s, m) => s + f(m), 0);
  return {
    members: members.length,
    acked: sum((m) => (m.acked ? 1 : 0)),
    received: sumStable((m) => m.received),
    outOfOrder: sumStable((m) => m.outOfOrder),
    seqGaps: sumStable((m) => m.seqGaps),
    firstSendUs,
    lastReceiveUs,
    joinNotices: sum((m) => m.joinNotices),
    presenceExact: sum((m) => (m.presence === task.expectedPresence ? 1 : 0)),
    cutOff: members.filter((m) => m.cutOff).map((m) => `${m.userId}: ${m.cutOff}`).slice(0, 5),
    latency: { counts: latency.counts, max: latency.max },
    churnRounds: 0,
    ...extra,
  };
}

process.on('message', async (message: { type: string; task?: WorkerTask }) => {
  switch (message.type) {
    case 'setup': {
      task = message.task!;
      connect();
      for (const [i, c] of task.clients.entries()) members.push(open(c.userId, c.room, c.senderIndex, i));
      const stable = members.filter((m) => !task.churners.includes(m.userId));
      if (task.joinNow) {
        for (const m of stable) m.call.write(encode(join(m.userId, m.room, task.batch)));
      }
      process.send!({ type: 'ready', report: report() });
      break;
    }
    case 'join': {
      // Join-storm: every client joins at once; the orchestrator polls for quiet.
      for (const m of members) m.call.write(encode(join(m.userId, m.room, task.batch)));
      break;
    }
    case 'go': {
      task = message.task ?? task;
      measuring = task.measure;
      const senders = members.filter((m) => m.senderIndex >= 0);
      const churners = members.filter((m) => task.churners.includes(m.userId));
      const until = Date.now() + task.churnMs;
      const [, rounds] = await Promise.all([
        Promise.all(senders.map(send)),
        Promise.all(churners.map((m) => churn(m, until))).then((r) => r.reduce((a, b) => a + b, 0)),
      ]);
      process.send!({ type: 'sent', report: report({ churnRounds: rounds }) });
      break;
    }
    case 'poll':
      process.send!({ type: 'poll', report: report() });
      break;
    case 'close': {
      for (const m of members) m.call.end();
      for (const c of clients) c.close();
      process.send!({ type: 'closed' }, () => process.exit(0));
      break;
    }
  }
});

// Messages sent before this module has loaded would be lost: say when it listens.
process.send!({ type: 'hello' });
