import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ClientEnvelope } from '../../gen/chat/v1/chat.js';
import { chatWireDefinition } from '../../src/server/chatWireDefinition.js';
import { envelopes, mutatedEnvelopes } from '../helpers/envelopeArbitraries.js';
import { fuzzRun } from '../helpers/fuzzRun.js';

/** What the server decodes each gRPC message of a Channel stream with. */
const decode = chatWireDefinition.channel.requestDeserialize;

const isText = (v: unknown) => typeof v === 'string';
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** What the handler relies on: a oneof it knows or none, and every field of the type it is declared with. */
function wellTyped(envelope: ClientEnvelope): boolean {
  const { message } = envelope;
  if (message === undefined) return true;
  const v = message.value as unknown as Record<string, unknown>;
  switch (message.$case) {
    case 'join':
      return [v.userId, v.room, v.displayName, v.epoch].every(isText) && isCount(v.afterSeq) && isCount(v.history) && typeof v.batchEvents === 'boolean';
    case 'chat': {
      const trace = v.traceContext as Record<string, unknown>;
      return [v.userId, v.room, v.content, v.displayName, v.clientMsgId].every(isText) && isCount(v.seq) && typeof v.timestampUtc === 'number' && Object.values(trace).every(isText);
    }
    case 'leave':
      return [v.userId, v.room].every(isText);
    default:
      return false;
  }
}

/**
 * Decoding never does anything but return a well-typed envelope or throw an
 * Error, which grpc-js turns into INTERNAL "Error deserializing request" for
 * that stream alone (server-interceptors.js); the handler never sees it.
 */
function decodesOrRefuses(bytes: Uint8Array): void {
  let envelope: ClientEnvelope;
  try {
    envelope = decode(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return;
  }
  expect(wellTyped(envelope)).toBe(true);
  // Whatever it decoded to is what it re-encodes to: no state hides in the decoder.
  expect(decode(ClientEnvelope.encode(envelope).finish())).toEqual(envelope);
}

describe('the Channel envelope decoder, fuzzed', () => {
  it('arbitrary bytes decode to a well-typed envelope or are refused with an Error', async () => {
    await fuzzRun('decoder/arbitrary-bytes', 5_000, fc.property(fc.uint8Array({ maxLength: 300 }), decodesOrRefuses));
  });

  it('mutated envelopes decode to a well-typed envelope or are refused with an Error', async () => {
    await fuzzRun('decoder/mutated-envelopes', 5_000, fc.property(mutatedEnvelopes, decodesOrRefuses));
  });

  it('well-formed envelopes decode to what was encoded', async () => {
    await fuzzRun(
      'decoder/round-trip',
      1_000,
      fc.property(envelopes, (partial) => {
        const envelope = ClientEnvelope.fromPartial(partial);
        expect(decode(ClientEnvelope.encode(envelope).finish())).toEqual(envelope);
      }),
    );
  });
});
