import { afterEach, describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import { encodeEvent } from '../../src/server/encodeEvent.js';
import { Http2Connection, OriginalChannel } from '../helpers/OriginalChannel.js';
import { serverPerTest } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * What coalesced writes look like on the wire to a client of the original proto:
 * read with a plain HTTP/2 client, chunk by chunk, as grpc-go or any other
 * generated client reads them.
 */
describe('coalesced writes for clients without batch_events', () => {
  const start = serverPerTest();
  const connections: Http2Connection[] = [];
  afterEach(() => {
    for (const c of connections.splice(0)) c.close();
  });
  const channel = async (address: string, options = {}) => {
    const connection = await Http2Connection.open(address);
    connections.push(connection);
    return new OriginalChannel(connection, options);
  };

  /** A reader that stops while 500 messages are sent, then reads them all. */
  async function backlog(coalesceWrites: boolean) {
    const t = await start({ coalesceWrites, limits: { ratePerSecond: 0 } });
    const reader = await channel(t.address, { keepChunks: true });
    reader.join('reader', 'r');
    const sender = await channel(t.address);
    sender.join('sender', 'r');
    await waitFor(() => reader.counts.joins === 2 && sender.counts.acks === 1, { what: 'both to join' });
    reader.pause();
    for (let i = 0; i < 500; i++) sender.chat('r', `0:${i}:0:`);
    await waitFor(() => sender.counts.messages === 500, { what: 'the sender’s own copies' });
    reader.chunks.length = 0;
    reader.resume();
    await waitFor(() => reader.counts.messages === 500, { what: 'all 500 for the reader' });
    expect(reader.counts).toMatchObject({ seqGaps: 0, outOfOrder: 0, otherNotices: 0 });
    for (const c of [reader, sender]) c.end();
    await waitFor(() => reader.status !== undefined && sender.status !== undefined, { what: 'both to end' });
    expect([reader.status!.code, sender.status!.code]).toEqual([Status.OK, Status.OK]);
    return reader.chunks.filter((n) => n > 0);
  }

  it('a backlog reaches an original-proto client as few DATA chunks of many ordinary gRPC messages, in order', async () => {
    const chunks = await backlog(true);
    expect(chunks.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...chunks)).toBeGreaterThan(50);
    expect(chunks.length).toBeLessThan(100);
  });

  it('with CHAT_COALESCE_WRITES=0 the same backlog is one write per event', async () => {
    const chunks = await backlog(false);
    expect(chunks.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(2);
  });

  describe.each([true, false])('CHAT_MAX_SEND_MESSAGE_BYTES (coalesced writes %s)', (coalesceWrites) => {
    const MAX = 256 * 1024;
    /** Content whose broadcast, as the server encodes it for `userId` in `room`, is exactly `size` bytes. */
    function contentFor(size: number, userId: string, room: string, seq: number): string {
      const event = (content: string) =>
        encodeEvent({ kind: 'message', message: { room, seq, userId, displayName: userId, content, timestampUtc: Date.now(), clientMsgId: '', traceContext: {} } });
      let length = size - 64;
      for (let i = 0; i < 10 && event('c'.repeat(length)).byteLength !== size; i++) length += size - event('c'.repeat(length)).byteLength;
      expect(event('c'.repeat(length)).byteLength).toBe(size);
      return 'c'.repeat(length);
    }

    it('an event of exactly the maximum goes out; one byte more ends the receiving streams with RESOURCE_EXHAUSTED', async () => {
      const t = await start({ coalesceWrites, maxSendMessageBytes: MAX, maxMessageBytes: 1024 * 1024, limits: { ratePerSecond: 0, maxContentBytes: 1024 * 1024 } });
      const reader = await channel(t.address);
      reader.join('reader', 'r');
      const sender = await channel(t.address);
      sender.join('sender', 'r');
      await waitFor(() => reader.counts.joins === 2 && sender.counts.acks === 1, { what: 'both to join' });
      // seq 3: after the two joins.
      sender.chat('r', contentFor(MAX, 'sender', 'r', 3));
      await waitFor(() => reader.counts.messages === 1 && sender.counts.messages === 1, { what: 'the message at the maximum' });
      expect(reader.status).toBeUndefined();
      sender.chat('r', contentFor(MAX + 1, 'sender', 'r', 4));
      await waitFor(() => reader.status !== undefined && sender.status !== undefined, { what: 'both streams to end' });
      for (const c of [reader, sender]) {
        expect(c.status!.code).toBe(Status.RESOURCE_EXHAUSTED);
        expect(c.status!.details).toContain('larger than max');
        expect(c.counts.messages).toBe(1);
      }
    });
  });
});
