import http2 from 'node:http2';
import { ClientEnvelope, type DeepPartial } from '../../gen/chat/v1/chat.js';
import { scanServerEvent } from '../../bench/scanEvents.js';

const WINDOW = 4 * 1024 * 1024;

/** One HTTP/2 connection to a chat server, as a gRPC client opens it. */
export class Http2Connection {
  private constructor(readonly session: http2.ClientHttp2Session) {}

  /** `window`: HTTP/2's 64 KiB default would throttle a connection of many streams, so real clients ask for more. */
  static async open(address: string, window = WINDOW): Promise<Http2Connection> {
    const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: window } });
    session.on('error', () => {}); // each stream reports its own end
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    session.setLocalWindowSize(Math.max(window, 65_535));
    return new Http2Connection(session);
  }

  close(): void {
    this.session.destroy();
  }
}

/** What one member has read, counted as it came. */
export interface Counts {
  acks: number;
  messages: number;
  joins: number;
  leaves: number;
  /** Notices other than joins and leaves (errors, shutdown...). */
  otherNotices: number;
  /** Members the JoinAck listed, plus joins, minus leaves: who it believes is in the room. */
  presence: number;
  /** Room events whose seq was not the one after the last. */
  seqGaps: number;
  /** Per sender index (bench content "sender:index:..."), messages that came out of order. */
  outOfOrder: number;
}

/**
 * A Channel stream of the original chat.v1, on the wire as any generated client
 * speaks it: gRPC messages over an HTTP/2 stream, envelopes without batch_events.
 * It reads as it goes (or not: `pause()`), counting events with the bench's
 * scanner instead of decoding them, so thousands of them fit in one test process.
 */
export class OriginalChannel {
  readonly counts: Counts = { acks: 0, messages: 0, joins: 0, leaves: 0, otherNotices: 0, presence: 0, seqGaps: 0, outOfOrder: 0 };
  /** grpc-status and grpc-message, once the stream has ended. */
  status: { code: number; details: string } | undefined;
  /** Every DATA chunk's count of gRPC messages (with `keepChunks`). */
  readonly chunks: number[] = [];
  private readonly stream: http2.ClientHttp2Stream;
  private pending: Buffer = Buffer.alloc(0);
  private lastSeq = 0;
  private ownJoinSeen = false;
  private readonly lastIndex = new Map<number, number>();

  constructor(
    connection: Http2Connection,
    private readonly options: { keepChunks?: boolean; onMessage?: (sender: number, index: number) => void } = {},
  ) {
    this.stream = connection.session.request({
      ':method': 'POST',
      ':path': '/chat.v1.ChatService/Channel',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('response', (headers) => this.ended(headers));
    this.stream.on('trailers', (headers) => this.ended(headers));
    this.stream.on('data', (chunk: Buffer) => this.read(chunk));
    this.stream.on('error', () => {});
    this.stream.on('close', () => (this.status ??= { code: -1, details: `stream closed (rst ${this.stream.rstCode})` }));
  }

  send(envelope: DeepPartial<ClientEnvelope>): void {
    const body = ClientEnvelope.encode(ClientEnvelope.fromPartial(envelope)).finish();
    const header = Buffer.alloc(5);
    header.writeUInt32BE(body.byteLength, 1);
    this.stream.write(Buffer.concat([header, body]));
  }

  join(userId: string, room: string): void {
    this.send({ message: { $case: 'join', value: { userId, room } } });
  }

  chat(room: string, content: string): void {
    this.send({ message: { $case: 'chat', value: { room, content } } });
  }

  /** Stops reading: HTTP/2 flow control then holds the server's writes back. */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Half-closes: the server leaves every room, sends what is left, then OK. */
  end(): void {
    this.stream.end();
  }

  /** Cancels the stream (RST_STREAM), as a client that goes away does. */
  cancel(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private read(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let messages = 0;
    while (data.length >= 5) {
      const length = data.readUInt32BE(1);
      if (data.length < 5 + length) break;
      scanServerEvent(data.subarray(5, 5 + length), (e) => this.count(e.kind, e.seq, e.noticeType, e.members, e.sender, e.index));
      data = data.subarray(5 + length);
      messages += 1;
    }
    this.pending = data;
    if (this.options.keepChunks) this.chunks.push(messages);
  }

  private count(kind: number, seq: number, noticeType: number, members: number, sender: number, index: number): void {
    const c = this.counts;
    if (kind === 1) {
      c.acks += 1;
      c.presence = members;
      this.lastSeq = seq; // JoinAck.last_seq
      this.ownJoinSeen = false;
      return;
    }
    if (kind === 3 && noticeType !== 1 && noticeType !== 2) {
      c.otherNotices += 1;
      return;
    }
    if (seq !== this.lastSeq + 1) c.seqGaps += 1;
    this.lastSeq = seq;
    if (kind === 2) {
      c.messages += 1;
      const last = this.lastIndex.get(sender) ?? -1;
      if (index !== last + 1) c.outOfOrder += 1;
      this.lastIndex.set(sender, index);
      this.options.onMessage?.(sender, index);
    } else if (noticeType === 1) {
      c.joins += 1;
      // The JoinAck listed the joiner, whose own join notice comes right after it.
      if (this.ownJoinSeen) c.presence += 1;
      else this.ownJoinSeen = true;
    } else {
      c.leaves += 1;
      c.presence -= 1;
    }
  }

  private ended(headers: http2.IncomingHttpHeaders): void {
    const code = headers['grpc-status'];
    if (code === undefined) return;
    this.status = { code: Number(code), details: decodeURIComponent(String(headers['grpc-message'] ?? '')) };
  }
}
