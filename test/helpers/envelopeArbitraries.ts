import fc from 'fast-check';
import { ClientEnvelope, type DeepPartial } from '../../gen/chat/v1/chat.js';

const text = fc.oneof(fc.constantFrom('', 'alice', 'lobby', 'r1'), fc.string({ maxLength: 40, unit: 'binary' }));
const u64 = fc.oneof(fc.constantFrom(0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.nat());
const u32 = fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));

/** Any well-formed ClientEnvelope: join, chat, leave or nothing, with any field values the types allow. */
export const envelopes: fc.Arbitrary<DeepPartial<ClientEnvelope>> = fc.oneof(
  fc.constant({}),
  fc.record({ userId: text, room: text, displayName: text, afterSeq: u64, history: u32, epoch: text, batchEvents: fc.boolean() }).map((value) => ({ message: { $case: 'join' as const, value } })),
  fc
    .record({ userId: text, room: text, content: text, timestampUtc: u64, seq: u64, displayName: text, clientMsgId: text, traceContext: fc.dictionary(text, text, { maxKeys: 3 }) })
    .map((value) => ({ message: { $case: 'chat' as const, value } })),
  fc.record({ userId: text, room: text }).map((value) => ({ message: { $case: 'leave' as const, value } })),
);

/** The wire bytes of a well-formed envelope. */
export const encodedEnvelopes: fc.Arbitrary<Uint8Array> = envelopes.map((e) => ClientEnvelope.encode(ClientEnvelope.fromPartial(e)).finish());

type Mutation = { at: number; kind: 'flip' | 'set' | 'insert' | 'delete' | 'truncate'; byte: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'),
  byte: fc.oneof(fc.constantFrom(0x00, 0x08, 0x0a, 0x12, 0x1a, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })),
});

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = [...bytes];
  for (const { at, kind, byte } of mutations) {
    const i = out.length === 0 ? 0 : at % (out.length + (kind === 'insert' ? 1 : 0));
    if (kind === 'flip' && out.length > 0) out[i] = out[i]! ^ (1 << (byte % 8));
    else if (kind === 'set' && out.length > 0) out[i] = byte;
    else if (kind === 'insert') out.splice(i, 0, byte);
    else if (kind === 'delete') out.splice(i, 1);
    else if (kind === 'truncate') out = out.slice(0, i);
  }
  return Uint8Array.from(out);
}

/** A well-formed envelope's bytes with a few bytes flipped, set, inserted or deleted, or cut short: what a broken client sends. */
export const mutatedEnvelopes: fc.Arbitrary<Uint8Array> = fc
  .tuple(encodedEnvelopes, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([bytes, mutations]) => mutate(bytes, mutations));

/** Malformed or not: arbitrary bytes, mutated envelopes, and well-formed ones. */
export const envelopeBytes: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutatedEnvelopes, encodedEnvelopes);
