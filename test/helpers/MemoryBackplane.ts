import type { Backplane } from '../../src/domain/Backplane.js';
import type { SequencedEvent } from '../../src/domain/events.js';
import type { JoinCommand } from '../../src/domain/Hub.js';
import type { Room } from '../../src/domain/Room.js';
import { RoomSequencer } from '../../src/domain/RoomSequencer.js';
import type { Session } from '../../src/domain/Session.js';

/**
 * Hubs sharing rooms through a Backplane held in memory: one RoomSequencer per
 * room (what the owner node runs), its events applied to every hub's Room in
 * one order, as a stream would carry them. Checks the domain's side of
 * scale-out (Hub's shared paths, Room.attach/apply/detach) without NATS; the
 * NATS backplane itself is tested with real processes (test/e2e/cluster.test.ts).
 */
export class MemoryBackplane {
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
