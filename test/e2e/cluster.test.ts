import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import { ChatClient } from '../../src/client/ChatClient.js';
import { EventLog } from '../helpers/EventLog.js';
import { loggedConnection } from '../helpers/loggedConnection.js';
import { NatsCluster } from '../helpers/NatsCluster.js';
import { NatsServer } from '../helpers/NatsServer.js';
import { ServerProcess } from '../helpers/serverProcess.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Scale-out with real processes: chat servers sharing rooms through a real
 * nats-server (JetStream), clients of the library spread across them.
 */
let cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanups.reverse()) await step();
  cleanups = [];
});

async function nats(): Promise<NatsServer> {
  const server = await NatsServer.start();
  cleanups.push(() => server.stop());
  return server;
}

/** A chat server process on the backplane; its address. */
async function node(natsUrl: string, env: Record<string, string> = {}): Promise<{ process: ServerProcess; address: string }> {
  const process = ServerProcess.spawn(['--host', '127.0.0.1', '--port', '0'], { CHAT_NATS_URL: natsUrl, CHAT_RATE_PER_SECOND: '0', ...env });
  cleanups.push(() => process.kill());
  return { process, address: `127.0.0.1:${await process.port()}` };
}

function member(address: string, userId: string): EventLog {
  const client = new ChatClient(address);
  const log = new EventLog(client.openSession({ userId }));
  cleanups.push(() => client.close());
  return log;
}

const seqs = (log: EventLog, room: string) => log.of('message', room).map((e) => e.message.seq);
const contents = (log: EventLog, room: string) => log.of('message', room).map((e) => `${e.message.seq} ${e.message.userId}: ${e.message.content}`);

/** Who a member believes is in the room: its JoinAck's list, then the joins and leaves after it. */
function presence(events: ChatEvent[], room: string): Set<string> {
  const who = new Set<string>();
  for (const e of events) {
    if (e.room !== room) continue;
    if (e.type === 'joined') for (const m of e.ack.members) who.add(m.userId);
    if (e.type === 'user_joined') who.add(e.notice.userId);
    if (e.type === 'user_left') who.delete(e.notice.userId);
  }
  return who;
}

describe('rooms across chat server processes on NATS JetStream', () => {
  it('three servers, six members, 300 messages: every member sees the same gapless order and exact presence', async () => {
    const { url } = await nats();
    const nodes = [await node(url), await node(url), await node(url)];
    const members: EventLog[] = [];
    for (let i = 0; i < 6; i++) {
      const log = member(nodes[i % 3]!.address, `user${i}`);
      log.session.join('lobby');
      await log.joined('lobby');
      members.push(log);
    }
    // Everyone sees everyone: six joins, once each.
    for (const log of members) await waitFor(() => presence(log.events, 'lobby').size === 6 || undefined, { what: 'six members', timeoutMs: 10_000 });
    for (const [i, log] of members.entries()) for (let k = 0; k < 50; k++) log.session.send('lobby', `m${k} from ${i}`);
    for (const log of members) await waitFor(() => log.of('message', 'lobby').length === 300 || undefined, { what: '300 messages', timeoutMs: 30_000 });

    const order = contents(members[0]!, 'lobby');
    for (const log of members) expect(contents(log, 'lobby')).toEqual(order);
    const s = seqs(members[0]!, 'lobby');
    for (let i = 1; i < s.length; i++) expect(s[i]).toBe(s[i - 1]! + 1);
    // Each sender's own messages in the order sent.
    for (let i = 0; i < 6; i++) expect(order.filter((line) => line.endsWith(` from ${i}`)).map((line) => line.split(': ')[1])).toEqual(Array.from({ length: 50 }, (_, k) => `m${k} from ${i}`));
    for (const log of members) expect([...presence(log.events, 'lobby')].sort()).toEqual(['user0', 'user1', 'user2', 'user3', 'user4', 'user5']);
  }, 90_000);

  it('a bad request gets the same error on every node', async () => {
    const { url } = await nats();
    const nodes = [await node(url), await node(url)];
    for (const [i, n] of nodes.entries()) {
      const log = member(n.address, `bad${i}`);
      log.session.join('lobby');
      await log.joined('lobby');
      log.session.send('lobby', 'x\u202ey');
      log.session.send('elsewhere', 'hello');
      const invalid = await log.waitFor((e) => e.type === 'error' && e.notice.code === 'INVALID_CONTENT', 'INVALID_CONTENT');
      const notJoined = await log.waitFor((e) => e.type === 'error' && e.notice.code === 'NOT_JOINED', 'NOT_JOINED');
      expect(invalid.type === 'error' && invalid.notice.message).toBe('content holds U+202E RIGHT-TO-LEFT OVERRIDE at character 2: a bidi control, which can reorder the text around it');
      expect(notJoined.type === 'error' && notJoined.notice.room).toBe('elsewhere');
    }
  }, 60_000);

  it('kill -9 of a chat node: its members leave within CHAT_NODE_TTL_MS and a sweep, and its client resumes on another node with nothing lost', async () => {
    const { url } = await nats();
    const [a, b, victim] = [await node(url), await node(url), await node(url)];
    const alice = member(a.address, 'alice');
    alice.session.join('lobby');
    await alice.joined('lobby');
    const carol = member(b.address, 'carol');
    carol.session.join('lobby');
    await carol.joined('lobby');
    // dave is on the victim, with a connection that fails over to b.
    const dave = loggedConnection({ address: [victim.address, b.address], identity: { userId: 'dave' } });
    cleanups.push(() => dave.connection.close(500));
    dave.connection.join('lobby');
    await dave.joined('lobby');
    await waitFor(() => presence(alice.events, 'lobby').has('dave') || undefined, { what: 'dave in the room' });
    // ghost is only on the victim: it must leave when the victim dies.
    const ghost = member(victim.address, 'ghost');
    ghost.session.join('lobby');
    await ghost.joined('lobby');
    await waitFor(() => presence(alice.events, 'lobby').has('ghost') || undefined, { what: 'ghost in the room' });

    for (let k = 0; k < 20; k++) alice.session.send('lobby', `before ${k}`);
    await waitFor(() => dave.messages('lobby').length === 20 || undefined, { what: 'dave reading' });
    const killedAt = Date.now();
    victim.process.child.kill('SIGKILL');
    await victim.process.waitExit();
    for (let k = 0; k < 20; k++) alice.session.send('lobby', `after ${k}`);

    // dave's connection moves to b, resumes and gets the 20 sent while it was away, each once.
    await waitFor(() => dave.messages('lobby').length === 40 || undefined, { what: 'dave resumed with all 40', timeoutMs: 30_000 });
    expect(dave.messages('lobby')).toEqual([...Array.from({ length: 20 }, (_, k) => `before ${k}`), ...Array.from({ length: 20 }, (_, k) => `after ${k}`)]);
    expect(dave.connection.address).toBe(b.address);

    // ghost leaves: the victim's heartbeat expires (15 s) and the owner sweeps (every 2 s).
    await waitFor(() => !presence(alice.events, 'lobby').has('ghost') || undefined, { what: 'ghost to leave', timeoutMs: 30_000 });
    const leftAfterMs = Date.now() - killedAt;
    expect(leftAfterMs).toBeLessThan(15_000 + 2_000 + 3_000);
    // dave stayed: his new session on b kept him in the room; no leave, no second join.
    expect(presence(alice.events, 'lobby').has('dave')).toBe(true);
    expect(alice.events.filter((e) => e.type === 'user_left' && e.notice.userId === 'dave')).toEqual([]);
    expect(alice.events.filter((e) => e.type === 'user_joined' && e.notice.userId === 'dave')).toHaveLength(1);
    // Everyone saw the same order.
    expect(contents(carol, 'lobby')).toEqual(contents(alice, 'lobby'));
  }, 90_000);

  it('kill -9 of the node that owns the room: another takes it over, nothing duplicated, reordered or renumbered, and the epoch stays', async () => {
    const { url } = await nats();
    const [owner, b, c] = [await node(url), await node(url), await node(url)];
    // alice joins first, on `owner`: that node takes the room.
    const alice = loggedConnection({ address: [owner.address, c.address], identity: { userId: 'alice' } });
    cleanups.push(() => alice.connection.close(500));
    alice.connection.join('lobby');
    await alice.joined('lobby');
    const bob = member(b.address, 'bob');
    bob.session.join('lobby');
    const bobAck = await bob.joined('lobby');
    const carol = member(c.address, 'carol');
    carol.session.join('lobby');
    await carol.joined('lobby');
    for (let k = 0; k < 10; k++) bob.session.send('lobby', `b${k}`);
    await waitFor(() => carol.of('message', 'lobby').length === 10 || undefined, { what: 'the first ten' });

    owner.process.child.kill('SIGKILL');
    await owner.process.waitExit();
    // Sent while nobody owns the room: they wait for the takeover (the dead owner's lease lasts 15 s), then go on in order.
    for (let k = 10; k < 30; k++) bob.session.send('lobby', `b${k}`);
    for (let k = 0; k < 10; k++) carol.session.send('lobby', `c${k}`);
    for (const log of [bob, carol]) await waitFor(() => log.of('message', 'lobby').length === 40 || undefined, { what: 'all 40', timeoutMs: 45_000 });
    await waitFor(() => alice.messages('lobby').length === 40 || undefined, { what: 'alice resumed on c with all 40', timeoutMs: 45_000 });

    expect(contents(carol, 'lobby')).toEqual(contents(bob, 'lobby'));
    expect(bob.of('message', 'lobby').filter((e) => e.message.userId === 'bob').map((e) => e.message.content)).toEqual(Array.from({ length: 30 }, (_, k) => `b${k}`));
    // One sequence: rising by one over messages and presence alike, with no seq taken twice.
    const all = bob.events.filter((e) => e.room === 'lobby' && (e.type === 'message' || e.type === 'user_joined' || e.type === 'user_left'));
    const numbers = all.map((e) => (e.type === 'message' ? e.message.seq : e.type === 'user_joined' || e.type === 'user_left' ? e.notice.seq : 0));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1]! + 1);
    // The room kept its life: a client resuming sees the same epoch.
    const again = member(b.address, 'erin');
    again.session.join('lobby', { afterSeq: bobAck.lastSeq, epoch: bobAck.epoch });
    const ack = await again.joined('lobby');
    expect(ack.epoch).toBe(bobAck.epoch);
    expect(ack.recovered).toBe(true);
  }, 120_000);
});

describe('rooms across chat servers on a 3-node NATS cluster', () => {
  it('the stream’s leader is killed mid-traffic: no loss, no duplicate, one order, and nobody leaves', async () => {
    const cluster = await NatsCluster.start(3);
    cleanups.push(() => cluster.stop());
    const env = { CHAT_NATS_REPLICAS: '3' };
    const [a, b] = [await node(cluster.urls, env), await node(cluster.urls, env)];
    const members = [member(a.address, 'alice'), member(b.address, 'bob'), member(a.address, 'carol'), member(b.address, 'dave')];
    for (const log of members) {
      log.session.join('lobby');
      await log.joined('lobby');
    }
    for (const log of members) await waitFor(() => presence(log.events, 'lobby').size === 4 || undefined, { what: 'four members' });
    const leader = await cluster.streamLeader('CHAT_ROOMS');

    // Senders on both chat servers keep going while the leader dies and a new one is elected.
    const send = (round: number) => {
      for (const [i, log] of members.entries()) if (i < 2) log.session.send('lobby', `${log === members[0] ? 'alice' : 'bob'} ${round}`);
    };
    for (let round = 0; round < 20; round++) send(round);
    await cluster.kill(leader, 'SIGKILL');
    // Each stream's requests go one at a time, so these are in flight across the election.
    for (let round = 20; round < 60; round++) send(round);
    try {
      for (const log of members) await waitFor(() => log.of('message', 'lobby').length >= 120 || undefined, { what: 'all 120 messages', timeoutMs: 60_000 });
    } catch (error) {
      // What the servers said, for a failure that only shows under load.
      for (const n of [a, b]) console.error(n.process.logs().filter((l) => l.level !== 30 || String(l.event).startsWith('room')).map((l) => JSON.stringify(l)).join('\n'));
      console.error('received', members.map((m) => m.of('message', 'lobby').length), members.map((m) => m.events.length));
      throw error;
    }

    const order = contents(members[0]!, 'lobby');
    expect(order).toHaveLength(120);
    for (const log of members) expect(contents(log, 'lobby')).toEqual(order);
    for (const name of ['alice', 'bob']) expect(order.filter((l) => l.includes(` ${name}: `)).map((l) => l.split(': ')[1])).toEqual(Array.from({ length: 60 }, (_, k) => `${name} ${k}`));
    const s = seqs(members[0]!, 'lobby');
    for (let i = 1; i < s.length; i++) expect(s[i]).toBe(s[i - 1]! + 1);
    // No phantom leave: the failover stalled heartbeats for seconds, under their 15 s.
    for (const log of members) expect(log.events.filter((e) => e.type === 'user_left')).toEqual([]);
  }, 120_000);
});

