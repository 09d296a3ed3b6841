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
