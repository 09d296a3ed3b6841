import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from '@jest/globals';
import { ClientEnvelope, JoinRequest, ServerEvent } from '../../gen/chat/v1/chat.js';
import { serverPerTest } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const PATH = '/chat.v1.ChatService/Channel';

/** A raw stream that records every ServerEvent exactly as it came off the wire. */
function rawStream(address: string, batchEvents: boolean) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = client.makeBidiStreamRequest(PATH, (b: Buffer) => b, (b: Buffer) => ServerEvent.decode(b));
  const received: ServerEvent[] = [];
  call.on('data', (e: ServerEvent) => received.push(e));
  call.on('error', () => {});
  const write = (e: ClientEnvelope) => call.write(Buffer.from(ClientEnvelope.encode(e).finish()));
  write({ message: { $case: 'join', value: JoinRequest.fromPartial({ userId: `u${batchEvents}`, room: 'r', batchEvents }) } });
  const flat = () =>
    received.flatMap((e) => (e.event?.$case === 'batch' ? e.event.value.events : [e]));
  return { client, call, received, flat, write };
}

describe('batched events', () => {
  const start = serverPerTest();

  it('under load a stream that asked for batches gets fewer, larger messages with every event in order; one that did not never gets a batch', async () => {
    const t = await start({ limits: { ratePerSecond: 0 } });
    const batched = rawStream(t.address, true);
    const plain = rawStream(t.address, false);
    try {
      await waitFor(() => batched.flat().some((e) => e.event?.$case === 'joined') && plain.flat().some((e) => e.event?.$case === 'joined'));
      // Both receivers stop reading, so the server's writes to them block and
      // 2,000 messages pile up in their queues; then they read again.
      batched.call.pause();
      plain.call.pause();
      const sender = t.open({ userId: 'sender' });
      sender.session.join('r');
      await sender.joined('r');
      for (let i = 0; i < 2000; i++) sender.session.send('r', `m${i}`);
      await sender.waitForCount((e) => e.type === 'message', 2000, 'own copies');
      batched.call.resume();
      plain.call.resume();
      const messages = (s: ReturnType<typeof rawStream>) =>
        s.flat().flatMap((e) => (e.event?.$case === 'broadcast' ? [e.event.value] : []));
      await waitFor(() => messages(batched).length === 2000 && messages(plain).length === 2000, { timeoutMs: 15000, what: 'all messages' });

      for (const s of [batched, plain]) {
        const got = messages(s);
        expect(got.map((m) => m.content)).toEqual(Array.from({ length: 2000 }, (_, i) => `m${i}`));
        for (let i = 1; i < got.length; i++) expect(got[i]!.seq).toBe(got[i - 1]!.seq + 1);
      }
      expect(plain.received.some((e) => e.event?.$case === 'batch')).toBe(false);
      expect(batched.received.some((e) => e.event?.$case === 'batch')).toBe(true);
      expect(batched.received.length).toBeLessThan(plain.received.length);
      sender.session.close();
      await sender.waitEnd();
    } finally {
      for (const s of [batched, plain]) {
        s.call.cancel();
        s.client.close();
      }
    }
  });
});
