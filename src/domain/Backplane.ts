import type { JoinCommand, PublishCommand } from './Hub.js';
import type { Room } from './Room.js';
import type { JoinView } from './RoomSequencer.js';
import type { Session } from './Session.js';

/**
 * Where rooms are sequenced when several servers share them (docs/scale-out.md).
 * Without one, each Room sequences itself in this process. With one, a room
 * here is this node's follower of the room: it applies the owner's events
 * (Room.apply) and fans them out to the sessions of this node; joins, leaves
 * and publishes go to the owner. Implemented by src/server/nats/NatsBackplane.ts.
 */
export interface Backplane {
  /** Has the owner sequence the session's join; resolves once `room` has applied the owner's events up to the answer. */
  join(session: Session, room: Room, cmd: JoinCommand): Promise<JoinView>;
  /** Has the owner sequence a message; resolves with its seq once stored and applied to `room` (so its sender's own copy is queued). */
  publish(session: Session, room: Room, cmd: PublishCommand): Promise<number>;
  /** The session left `room`: resolves with the seq of its user's leave notice when it was the user's last session anywhere. */
  leave(session: Session, room: Room): Promise<number | undefined>;
  /** This node no longer keeps `room`: stop applying its events. */
  release(room: Room): void;
}
