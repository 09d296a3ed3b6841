import { describe, expect, it } from '@jest/globals';
import { Hub, type JoinCommand } from '../../src/domain/Hub.js';
import { defaultLimits } from '../../src/domain/limits.js';
import { encode, Inbox } from '../helpers/Inbox.js';
import { MemoryBackplane } from '../helpers/MemoryBackplane.js';

const limits = { ...defaultLimits, ratePerSecond: 0, coalesceMs: 0 };
const join = (userId: string, room: string, more: Partial<JoinCommand> = {}): JoinCommand => ({ userId, room, displayName: '', afterSeq: 0, history: 0, epoch: '', batchEvents: false, ...more });

function cluster(nodes: number, overrides: Partial<typeof limits> = {}) {
  const backplane = new MemoryBackplane();
  const hubs = Array.from({ length: nodes }, (_, i) => new Hub({ limits: { ...limits, ...overrides }, encode, backplane: backplane.for(`n${i}`) }));
  const open = (node: number) => new Inbox(hubs[node]!.openSession());
  return { backplane, hubs, open };
}

describe('Hubs sharing rooms through a Backplane', () => {
  it('members on different hubs get one order: acks, joins and messages, gapless', async () => {
    const { hubs, open } = cluster(2);
    const alice = open(0);
    const bob = open(1);
    await hubs[0]!.joinShared(alice.session, join('alice', 'lobby'));
    await hubs[1]!.joinShared(bob.session, join('bob', 'lobby'));
    await hubs[0]!.publishShared(alice.session, { userId: '', room: 'lobby', content: 'hi', clientMsgId: 'a1', traceContext: {} });
    await hubs[1]!.publishShared(bob.session, { userId: '', room: 'lobby', content: 'yo', clientMsgId: 'b1', traceContext: {} });
    await alice.take();
    await bob.take();
    expect(alice.summary()).toEqual(['ack:alice:0', 'user_joined:alice:1', 'user_joined:bob:2', 'message:alice:3', 'message:bob:4']);
    // bob's ack comes after alice's join: he gets what follows it.
    expect(bob.summary()).toEqual(['ack:bob:1', 'user_joined:bob:2', 'message:alice:3', 'message:bob:4']);
    expect(bob.acks('lobby')[0]!.members.map((m) => m.userId)).toEqual(['alice', 'bob']);
  });

  it('a resume on another hub replays from that hub’s copy of the room', async () => {
    const { hubs, open } = cluster(2);
    const alice = open(0);
    await hubs[0]!.joinShared(alice.session, join('alice', 'lobby'));
    for (const text of ['one', 'two', 'three']) await hubs[0]!.publishShared(alice.session, { userId: '', room: 'lobby', content: text, clientMsgId: text, traceContext: {} });
    // bob was away after seq 2; he comes back on hub 1, which has never followed the room.
    const bob = open(1);
    await hubs[1]!.joinShared(bob.session, join('bob', 'lobby', { afterSeq: 2, epoch: 'EPOCH' }));
    await bob.take();
    expect(bob.summary()).toEqual(['ack:bob:4', 'message:alice:3', 'message:alice:4', 'user_joined:bob:5']);
    expect(bob.acks('lobby')[0]!.recovered).toBe(true);
  });

  it('a resume whose after_seq is past the room’s last seq still gets its own join notice, gapless (found by fuzzing)', async () => {
    const { hubs, open } = cluster(2);
    const alice = open(0);
    await hubs[0]!.joinShared(alice.session, join('alice', 'lobby', { afterSeq: 1 }));
    const carol = open(1);
    await hubs[1]!.joinShared(carol.session, join('carol', 'lobby'));
    await alice.take();
    expect(alice.summary()).toEqual(['ack:alice:0', 'generic:MISSED_EVENTS', 'user_joined:alice:1', 'user_joined:carol:2']);
  });

  it('a room emptied while a join to it waits for the owner is kept: the joiner gets every later event (found by fuzzing)', async () => {
    const { hubs, open } = cluster(2, { roomGraceMs: 0 });
    const alice = open(1);
    await hubs[1]!.joinShared(alice.session, join('alice', 'lobby'));
    const carol = open(0);
    await hubs[0]!.joinShared(carol.session, join('carol', 'lobby'));
    const bob = open(1);
    const joining = hubs[1]!.joinShared(bob.session, join('bob', 'lobby'));
    // Alice, hub 1's only attached member, leaves while bob's join is on its way.
    const leaving = hubs[1]!.leaveShared(alice.session, { userId: '', room: 'lobby' });
    await joining;
    await leaving;
    await hubs[0]!.publishShared(carol.session, { userId: '', room: 'lobby', content: 'still here?', clientMsgId: 'c1', traceContext: {} });
    await bob.take();
    expect(bob.summary()).toEqual(['ack:bob:2', 'user_joined:bob:3', 'user_left:alice:4', 'message:carol:5']);
    expect(hubs[1]!.roomCount).toBe(1);
  });

  it('a user in the room on two hubs joins once and leaves once, when the last session goes', async () => {
    const { hubs, open } = cluster(2);
    const watcher = open(0);
    await hubs[0]!.joinShared(watcher.session, join('watcher', 'lobby'));
    const phone = open(0);
    const laptop = open(1);
    await hubs[0]!.joinShared(phone.session, join('carol', 'lobby'));
    await hubs[1]!.joinShared(laptop.session, join('carol', 'lobby'));
    await hubs[1]!.leaveShared(laptop.session, { userId: '', room: 'lobby' });
    await laptop.take();
    // Only that session left: it is told so, the room is not.
    expect(laptop.summary().at(-1)).toBe('session_left:carol');
    await hubs[0]!.leaveShared(phone.session, { userId: '', room: 'lobby' });
    await phone.take();
    expect(phone.summary().at(-1)).toBe('user_left:carol:3');
    await watcher.take();
    expect(watcher.summary()).toEqual(['ack:watcher:0', 'user_joined:watcher:1', 'user_joined:carol:2', 'user_left:carol:3']);
  });

  it('a session closed while its join was on its way leaves the room, and its hub stops following an empty room', async () => {
    const { backplane, hubs, open } = cluster(2);
    const alice = open(1);
    const joining = hubs[1]!.joinShared(alice.session, join('alice', 'lobby'));
    hubs[1]!.closeSession(alice.session);
    await joining;
    await new Promise((resolve) => setImmediate(resolve));
    expect(backplane.sequencers.get('lobby')!.memberCount).toBe(0);
    expect(hubs[1]!.roomCount).toBe(1); // in its grace period
  });

  it('a session closed before its join reached the owner (its leave got there first) does not stay a member', async () => {
    const backplane = new MemoryBackplane();
    const plain = backplane.for('n0');
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    // The join waits, as a node's first join of a room waits for its consumer; the leave does not.
    const slowJoin = { ...plain, join: async (...args: Parameters<typeof plain.join>) => (await held, plain.join(...args)) };
    const hub = new Hub({ limits, encode, backplane: slowJoin });
    const alice = new Inbox(hub.openSession());
    const joining = hub.joinShared(alice.session, join('alice', 'lobby'));
    hub.closeSession(alice.session);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await joining;
    await new Promise((resolve) => setImmediate(resolve));
    expect(backplane.sequencers.get('lobby')!.memberCount).toBe(0);
  });
});
