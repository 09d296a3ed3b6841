import { describe, expect, it } from '@jest/globals';
import type { Backplane } from '../../src/domain/Backplane.js';
import type { SequencedEvent } from '../../src/domain/events.js';
import { Hub, type JoinCommand } from '../../src/domain/Hub.js';
import { defaultLimits } from '../../src/domain/limits.js';
import type { Room } from '../../src/domain/Room.js';
import { RoomSequencer } from '../../src/domain/RoomSequencer.js';
import type { Session } from '../../src/domain/Session.js';
import { encode, Inbox } from '../helpers/Inbox.js';

/**
 * Hubs sharing rooms through a Backplane held in memory: one RoomSequencer per
 * room (what the owner node runs), its events applied to every hub's Room in
 * one order, as a stream would carry them. Checks the domain's side of
 * scale-out (Hub's shared paths, Room.attach/apply/detach) without NATS; the
 * NATS backplane itself is tested with real processes (test/e2e/cluster.test.ts).
 */
class MemoryBackplane {
  readonly sequencers = new Map<string, RoomSequencer>();
  readonly followers = new Map<string, Set<Room>>();
  /** Events appended so far, per room: what a node that follows late replays. */
  readonly stored = new Map<string, SequencedEvent[]>();

  for(node: string): Backplane {
    return {
      join: async (session: Session, room: Room, cmd: JoinCommand) => {
        this.follow(room);
        const joined = this.sequencer(cmd.room).join(node, String(session.id), { userId: session.userId, displayName: session.displayName });
        this.append(cmd.room, joined.events);
        return joined.view;
      },
      publish: async (session, _room, cmd) => {
        const published = this.sequencer(cmd.room).publish({ userId: session.userId, displayName: session.displayName, content: cmd.content, clientMsgId: cmd.clientMsgId, traceContext: cmd.traceContext })!;
        if (published.event) this.append(cmd.room, [published.event]);
        return published.seq;
      },
      leave: async (session, room) => {
        const events = this.sequencer(room.name).leave(node, String(session.id), session.userId);
        this.append(room.name, events);
        return events[0]?.kind === 'user_left' ? events[0].seq : undefined;
      },
      release: (room) => this.followers.get(room.name)?.delete(room),
    };
  }

  private sequencer(room: string): RoomSequencer {
    let s = this.sequencers.get(room);
    if (s === undefined) this.sequencers.set(room, (s = new RoomSequencer(room, 'EPOCH')));
    return s;
  }

  private follow(room: Room): void {
    let rooms = this.followers.get(room.name);
    if (rooms === undefined) this.followers.set(room.name, (rooms = new Set()));
    if (rooms.has(room)) return;
    rooms.add(room);
    for (const event of this.stored.get(room.name) ?? []) room.apply(event, 'EPOCH');
  }

  private append(room: string, events: SequencedEvent[]): void {
    const stored = this.stored.get(room) ?? [];
    this.stored.set(room, stored);
    for (const event of events) {
      stored.push(event);
      for (const follower of this.followers.get(room) ?? []) follower.apply(event, 'EPOCH');
    }
  }
}

const limits = { ...defaultLimits, ratePerSecond: 0, coalesceMs: 0 };
const join = (userId: string, room: string, more: Partial<JoinCommand> = {}): JoinCommand => ({ userId, room, displayName: '', afterSeq: 0, history: 0, epoch: '', batchEvents: false, ...more });

function cluster(nodes: number) {
  const backplane = new MemoryBackplane();
  const hubs = Array.from({ length: nodes }, (_, i) => new Hub({ limits, encode, backplane: backplane.for(`n${i}`) }));
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
});
