import * as grpc from '@grpc/grpc-js';
import { ClientEnvelope, type DeepPartial, ServerEvent } from '../../gen/chat/v1/chat.js';
import { waitFor } from './waitFor.js';

const CHANNEL_PATH = '/chat.v1.ChatService/Channel';

/**
 * A Channel call made with @grpc/grpc-js directly, on a connection of its own,
 * that reads its responses only once `read()` is called: a client that stops
 * reading (so HTTP/2 flow control pushes back on the server), or one that sends
 * bytes no generated client would.
 */
export class RawCall {
  /** Responses read so far (only after `read()`). */
  readonly events: ServerEvent[] = [];
  /** The call's final status, once it has one. */
  status: grpc.StatusObject | undefined;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;

  constructor(address: string) {
    // A local subchannel pool: grpc-js would otherwise share one TCP connection
    // (and its connection-level flow-control window) between clients with equal options.
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    const bytes = (b: Buffer) => b;
    this.call = this.client.makeBidiStreamRequest(CHANNEL_PATH, bytes, bytes);
    this.call.on('status', (status: grpc.StatusObject) => (this.status ??= status));
    // Listening for 'error' (without reading) keeps a failed call from throwing; 'status' reports it.
    this.call.on('error', () => {});
    // Ask for a first message, as any reader does. Only once reading has begun does
    // grpc-js pause the HTTP/2 stream when its 16-message buffer is full, and so push
    // back on the server; a call never read at all buffers everything in the client.
    this.call.read(0);
  }

  /** Sends an envelope, encoded as a generated client would. */
  send(envelope: DeepPartial<ClientEnvelope>): void {
    this.sendBytes(Buffer.from(ClientEnvelope.encode(ClientEnvelope.fromPartial(envelope)).finish()));
  }

  /** Sends one gRPC message holding exactly these bytes. */
  sendBytes(bytes: Buffer): void {
    this.call.write(bytes);
  }

  /** Starts (or resumes) reading responses. */
  read(): void {
    this.call.on('data', (bytes: Buffer) => this.events.push(ServerEvent.decode(bytes)));
  }

  /** Waits for the call's final status. */
  waitStatus(timeoutMs = 5000): Promise<grpc.StatusObject> {
    return waitFor(() => this.status, { timeoutMs, what: 'the raw call to end' });
  }

  /** Cancels the call (if still open) and closes the connection. */
  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
