import { afterEach, describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import type { Limits } from '../../src/domain/limits.js';
import { Http2Connection, OriginalChannel } from '../helpers/OriginalChannel.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** A bench-style content: "sender:index:" then padding, so members can check each sender's order. */
const content = (sender: number, index: number, pad: number) => `${sender}:${index}:0:${'x'.repeat(pad)}`;

describe('backpressure instead of cut-offs', () => {
  let t: TestServer | undefined;
  const connections: Http2Connection[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    await t?.stop();
    t = undefined;
  });

  async function connect(address: string, count: number, window?: number): Promise<Http2Connection[]> {
    const opened = await Promise.all(Array.from({ length: count }, () => Http2Connection.open(address, window)));
    connections.push(...opened);
    return opened;
  }

  it('ten senders flooding a room of 100 original-proto members lose nothing, cut off nobody, and each gets its own messages back in order', async () => {
    // Small marks, so that the flood holds the room back many times over.
    t = await TestServer.start({ limits: { ratePerSecond: 0, queueHighWaterBytes: 16 * 1024, queueLowWaterBytes: 4 * 1024 } });
    const conns = await connect(t.address, 10);
    const members = Array.from({ length: 100 }, (_, i) => new OriginalChannel(conns[i % conns.length]!));
    members.forEach((m, i) => m.join(`m${i}`, 'flood'));
    const senders = Array.from({ length: 10 }, (_, i) => new OriginalChannel(conns[i]!));
    senders.forEach((s, i) => s.join(`s${i}`, 'flood'));
    const everyone = [...members, ...senders];
    await waitFor(() => everyone.every((m) => m.counts.acks === 1 && m.counts.presence === 110), { timeoutMs: 20_000, what: 'all 110 to join' });

    const PER_SENDER = 300;
    for (let n = 0; n < PER_SENDER; n++) senders.forEach((s, i) => s.chat('flood', content(i, n, 100)));
    await waitFor(() => everyone.every((m) => m.counts.messages === 10 * PER_SENDER), {
      timeoutMs: 60_000,
      what: `every member to get ${10 * PER_SENDER} messages (least so far ${Math.min(...everyone.map((m) => m.counts.messages))})`,
    });
    for (const m of everyone) {
      expect(m.counts).toMatchObject({ messages: 3000, seqGaps: 0, outOfOrder: 0, otherNotices: 0, presence: 110 });
      expect(m.status).toBeUndefined();
    }
    // The room was held back, not its members cut off.
    expect(t.hub.backpressure.roomPauses).toBeGreaterThan(0);
    expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 0, queue_bound: 0, budget: 0 });
    for (const m of everyone) m.end();
    await waitFor(() => everyone.every((m) => m.status !== undefined), { timeoutMs: 10_000, what: 'every stream to end' });
    expect(everyone.map((m) => m.status!.code).every((code) => code === Status.OK)).toBe(true);
  }, 120_000);

  it('a 5,000-join storm of original-proto members over 50 connections cuts off nobody, and every member’s presence ends exact', async () => {
    // A server process of its own, as deployed, so that it has a core of its own too.
    const server = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { CHAT_RATE_PER_SECOND: '0' });
    try {
      const address = `127.0.0.1:${await server.port()}`;
      const conns = await connect(address, 50);
      const members = Array.from({ length: 5000 }, (_, i) => new OriginalChannel(conns[i % 50]!));
      members.forEach((m, i) => m.join(`u${i}`, 'storm'));
      await waitFor(() => members.every((m) => m.counts.acks === 1 && m.counts.presence === 5000), {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: `every member to see all 5,000 (least so far ${Math.min(...members.map((m) => m.counts.presence))})`,
      });
      // Each join announced once to everyone there at the time, the joiner included.
      expect(members.reduce((n, m) => n + m.counts.joins, 0)).toBe((5000 * 5001) / 2);
      for (const m of members) {
        expect(m.counts).toMatchObject({ seqGaps: 0, leaves: 0, otherNotices: 0 });
        expect(m.status).toBeUndefined();
      }
      expect(server.logs().filter((line) => line.event === 'stream_end')).toEqual([]);
    } finally {
      await server.kill();
    }
  }, 180_000);

  describe('the queue budget', () => {
    /** The budget fits two members' backlogs, not three; the room's high-water mark is above a third of it. */
    const budgeted = (overrides: Partial<Limits> = {}): Partial<Limits> => ({
      ratePerSecond: 0,
      queueBudgetBytes: 256 * 1024,
      queueBytes: 1024 * 1024,
      queueHighWaterBytes: 128 * 1024,
      queueLowWaterBytes: 16 * 1024,
      stallGraceMs: 30_000,
      writeDeadlineMs: 60_000,
      ...overrides,
    });

    /** Three members of #big that stop reading (default 64 KiB windows), and a flood into #big until the server pauses. */
    async function overBudget(server: TestServer) {
      const readers = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const [own] = await connect(server.address, 1, 65_535);
          const reader = new OriginalChannel(own!, {});
          reader.join(`r${i}`, 'big');
          await waitFor(() => reader.counts.acks === 1, { what: `r${i} to join` });
          reader.pause();
          return reader;
        }),
      );
      const [senderConn] = await connect(server.address, 1);
      const sender = new OriginalChannel(senderConn!);
      sender.join('sender', 'big');
      await waitFor(() => sender.counts.acks === 1, { what: 'the sender to join' });
      let sent = 0;
      while (!server.hub.paused().server) {
        expect(sent).toBeLessThan(5000);
        for (let i = 0; i < 20; i++) sender.chat('big', content(0, sent++, 2000));
        await waitFor(() => sender.counts.messages === sent || server.hub.paused().server, { what: 'the sender’s own copies, or the pause' });
      }
      return { readers, sender, sent: () => sent };
    }

    it('when reached, publishing pauses server-wide, and goes on in order once the queues drain', async () => {
      t = await TestServer.start({ limits: budgeted() });
      const { readers, sender, sent } = await overBudget(t);
      expect(t.hub.backpressure.serverPauses).toBe(1);

      // A publisher in another room waits too, and its stream is simply not read.
      const [otherConn] = await connect(t.address, 1);
      const carol = new OriginalChannel(otherConn!);
      carol.join('carol', 'elsewhere');
      carol.chat('elsewhere', content(0, 0, 10));
      carol.chat('elsewhere', content(0, 1, 10));
      expect(t.hub.paused().server).toBe(true);
      expect(carol.counts.messages).toBe(0);

      // The members read again: the queues drain, publishing goes on, nothing is lost.
      for (const r of readers) r.resume();
      await waitFor(() => carol.counts.messages === 2, { timeoutMs: 10_000, what: 'carol’s own messages' });
      expect(t.hub.paused().server).toBe(false);
      expect(carol.counts).toMatchObject({ acks: 1, messages: 2, outOfOrder: 0, seqGaps: 0 });
      await waitFor(() => [...readers, sender].every((m) => m.counts.messages === sent()), { timeoutMs: 10_000, what: 'every message of #big' });
      for (const m of [...readers, sender, carol]) {
        expect(m.counts).toMatchObject({ seqGaps: 0, outOfOrder: 0, otherNotices: 0 });
        expect(m.status).toBeUndefined();
      }
      expect(t.hub.backpressure.cutOffs).toEqual({ write_deadline: 0, queue_bound: 0, budget: 0 });
    });

    it('when reached, streams that stopped taking bytes past the stall grace are cut off, largest first, and publishing goes on', async () => {
      t = await TestServer.start({ limits: budgeted({ stallGraceMs: 300 }) });
      const { readers, sender, sent } = await overBudget(t);
      // The stalled readers are cut off (budget) until the queues are under three quarters of it.
      await waitFor(() => t!.hub.backpressure.cutOffs.budget > 0 && !t!.hub.paused().server, { timeoutMs: 10_000, what: 'the budget cut-offs' });
      expect(t.hub.backpressure.cutOffs.write_deadline).toBe(0);
      const more = sent();
      for (let i = 0; i < 10; i++) sender.chat('big', content(0, more + i, 10));
      await waitFor(() => sender.counts.messages === more + 10, { timeoutMs: 10_000, what: 'the sender’s later messages' });
      for (const r of readers) r.resume();
      await waitFor(() => readers.every((r) => r.status !== undefined || r.counts.messages === sender.counts.messages), {
        timeoutMs: 10_000,
        what: 'the readers to end or catch up',
      });
      const cut = readers.filter((r) => r.status !== undefined);
      expect(cut.length).toBe(t.hub.backpressure.cutOffs.budget);
      for (const r of cut) {
        expect(r.status!.code).toBe(Status.RESOURCE_EXHAUSTED);
        expect(r.status!.details).toContain('SLOW_CONSUMER');
        expect(r.counts.seqGaps).toBe(0);
      }
    });
  });
});
