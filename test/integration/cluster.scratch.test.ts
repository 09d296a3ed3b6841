import { afterEach, describe, expect, it } from '@jest/globals';
import { TestServer } from '../helpers/testServer.js';

const url = 'nats://127.0.0.1:14222';
let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

describe('scratch: rooms across servers', () => {
  it('three servers, one room: same order at every member', async () => {
    const room = `r${Date.now()}`;
    for (let i = 0; i < 3; i++) servers.push(await TestServer.start({ natsServers: [url] }));
    const logs = [];
    for (const [i, s] of servers.entries()) logs.push(await s.joined({ userId: `u${i}` }, room));
    for (const [i, log] of logs.entries()) for (let k = 0; k < 20; k++) log.session.send(room, `m${i}-${k}`);
    for (const log of logs) await log.waitFor(() => log.of('message', room).length === 60, 'all 60', 20000);
    const orders = logs.map((log) => log.of('message', room).map((e) => (e.type === 'message' ? `${e.message.seq}:${e.message.content}` : '')));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    const joins = logs[0]!.events.filter((e) => e.type === 'user_joined').map((e) => (e.type === 'user_joined' ? e.notice.userId : ''));
    expect(joins).toEqual(['u0', 'u1', 'u2']);
  }, 60000);
});

describe('scratch: resume and takeover', () => {
  it('resume on another node, and an owner that drains hands the room over', async () => {
    const room = `r${Date.now()}b`;
    for (let i = 0; i < 3; i++) servers.push(await TestServer.start({ natsServers: [url] }));
    const alice = await servers[0]!.joined({ userId: 'alice' }, room);
    const bob = await servers[1]!.joined({ userId: 'bob' }, room);
    for (let k = 0; k < 5; k++) alice.session.send(room, `a${k}`);
    await bob.waitFor(() => bob.of('message', room).length === 5, 'five', 10000);
    const last = bob.of('message', room).at(-1)!;
    const ack = bob.events.find((e) => e.type === 'joined')!;
    const epoch = ack.type === 'joined' ? ack.ack.epoch : '';
    bob.session.close();
    for (let k = 5; k < 10; k++) alice.session.send(room, `a${k}`);
    await alice.waitFor(() => alice.of('message', room).length === 10, 'ten own', 10000);
    const again = servers[2]!.open({ userId: 'bob' });
    again.session.join(room, { afterSeq: last.type === 'message' ? last.message.seq : 0, epoch });
    await again.joined(room);
    await again.waitFor(() => again.of('message', room).length === 5, 'the five missed', 10000);
    expect(again.of('message', room).map((e) => (e.type === 'message' ? e.message.content : ''))).toEqual(['a5', 'a6', 'a7', 'a8', 'a9']);
    const reAck = again.events.find((e) => e.type === 'joined')!;
    expect(reAck.type === 'joined' && reAck.ack.recovered).toBe(true);
    // The owner (server 0 took the room: alice joined first) drains; the room moves on.
    const owner = servers.shift()!;
    await owner.stop();
    again.session.send(room, 'after');
    await again.waitFor((e) => e.type === 'message' && e.message.content === 'after', 'after the takeover', 20000);
    const seqs = again.of('message', room).map((e) => (e.type === 'message' ? e.message.seq : 0));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  }, 60000);
});
