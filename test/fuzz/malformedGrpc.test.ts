import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Status } from 'nice-grpc';
import { ClientEnvelope } from '../../gen/chat/v1/chat.js';
import type { EventLog } from '../helpers/EventLog.js';
import { envelopeBytes } from '../helpers/envelopeArbitraries.js';
import { fuzzRun } from '../helpers/fuzzRun.js';
import { Http2Connection, OriginalChannel } from '../helpers/OriginalChannel.js';
import { grpcFrame, RawGrpcStream } from '../helpers/RawGrpcStream.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const MAX_MESSAGE_BYTES = 1024;

/** One piece of what a broken client writes on a Channel stream. */
const piece = fc.oneof(
  { arbitrary: envelopeBytes.map((body) => grpcFrame(body)), weight: 4 },
  { arbitrary: envelopeBytes.map((body) => grpcFrame(body, { compressed: true })), weight: 1 },
  { arbitrary: fc.tuple(envelopeBytes, fc.integer({ min: -8, max: 64 })).map(([body, lie]) => grpcFrame(body, { length: Math.max(0, body.byteLength + lie) })), weight: 1 },
  { arbitrary: fc.constant(grpcFrame(new Uint8Array(MAX_MESSAGE_BYTES + 1))), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), weight: 1 },
);
const streamBytes = fc.array(piece, { minLength: 1, maxLength: 5 }).map((pieces) => Buffer.concat(pieces));

/** A status the client can act on; never UNKNOWN, never a stream reset without one. */
const CLEAR = new Set([Status.OK, Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.RESOURCE_EXHAUSTED, Status.INTERNAL, Status.UNIMPLEMENTED]);

describe('a real server fed malformed gRPC messages, fuzzed', () => {
  let t: TestServer;
  let connection: Http2Connection;
  let bystander: EventLog;
  let neighbour: OriginalChannel;
  let said = 0;
  const codes = new Map<string, number>();

  beforeAll(async () => {
    t = await TestServer.start({ maxMessageBytes: MAX_MESSAGE_BYTES, limits: { ratePerSecond: 0 } });
    connection = await Http2Connection.open(t.address);
    bystander = await t.joined({ userId: 'bystander' }, 'lobby');
    // A stream on the very connection the broken streams use.
    neighbour = new OriginalChannel(connection);
    neighbour.join('neighbour', 'lobby');
    await waitFor(() => neighbour.counts.acks === 1, { what: 'the neighbour’s JoinAck' });
  });

  afterAll(async () => {
    process.stderr.write(`fuzz grpc: statuses ${JSON.stringify(Object.fromEntries([...codes].sort()))}\n`);
    neighbour?.end();
    connection?.close();
    await t?.stop();
  });

  it('every malformed stream ends with a clear status, the server stays up, and other streams go on', async () => {
    await fuzzRun(
      'grpc/malformed-streams',
      40,
      fc.asyncProperty(streamBytes, async (bytes) => {
        const raw = new RawGrpcStream(connection);
        raw.send(bytes);
        const end = await raw.ended();
        const name = `${Status[end.code] ?? end.code}${end.details ? `: ${end.details.replace(/\d+/g, 'N').slice(0, 60)}` : ''}`;
        codes.set(name, (codes.get(name) ?? 0) + 1);
        expect(CLEAR.has(end.code)).toBe(true);
        if (end.code !== Status.OK) expect(end.details).not.toBe('');
        // The neighbour on the same connection and the bystander on its own still chat.
        said += 1;
        bystander.session.send('lobby', `still here ${said}`);
        await bystander.waitFor((e) => e.type === 'message' && e.message.content === `still here ${said}`, 'the bystander’s own copy');
        await waitFor(() => neighbour.counts.messages >= said, { what: 'the neighbour to get the bystander’s message' });
        expect(neighbour.status).toBeUndefined();
      }),
    );
    // Every broken stream's session was freed: only the two that chat are left.
    await waitFor(() => t.hub.sessionCount === 2, { what: 'only the bystander and the neighbour to be left' });
    expect(bystander.end).toBeUndefined();
    // A well-formed envelope after all that is still served.
    const ok = new RawGrpcStream(connection);
    ok.send(grpcFrame(ClientEnvelope.encode(ClientEnvelope.fromPartial({ message: { $case: 'join', value: { userId: 'late', room: 'lobby' } } })).finish()));
    expect(await ok.ended()).toMatchObject({ code: Status.OK });
  });
});
