import { afterEach, describe, expect, it } from '@jest/globals';
import { AlreadyJoinedError, JoinRateLimitedError, RoomBusyError, RoomFullError, ServerRoomsFullError, TooManyRoomsError } from '../../src/domain/errors.js';
import { Hub, type JoinCommand } from '../../src/domain/Hub.js';
import { defaultLimits, type Limits } from '../../src/domain/limits.js';
import type { Session } from '../../src/domain/Session.js';
import { encode } from '../helpers/Inbox.js';

/**
 * The abuse limits on joins in the Hub (docs/protocol.md, Abuse limits): their
 * order, who spends what, and what is exempt. Buckets refill at 1 a second at
 * most here, far slower than a test runs, so a spent token stays spent.
 */
describe('Hub: limits on joins', () => {
  let hub: Hub;
  const sessions: Session[] = [];
  afterEach(() => {
    for (const session of sessions.splice(0)) {
      hub.closeSession(session);
      session.queue.abort();
    }
    hub.dispose();
  });

  const start = (limits: Partial<Limits>) => (hub = new Hub({ limits: { ...defaultLimits, ratePerSecond: 0, ...limits }, encode }));
  const open = () => {
    const session = hub.openSession();
    sessions.push(session);
    return session;
  };
  const cmd = (userId: string, room: string): JoinCommand => ({ userId, room, displayName: '', afterSeq: 0, history: 0, epoch: '', batchEvents: false });
  const join = (session: Session, userId: string, room: string) => hub.join(session, cmd(userId, room));
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new Error('expected a refusal');
  };

  it('a join refused by ALREADY_JOINED or TOO_MANY_ROOMS spends no join token', () => {
    start({ joinRatePerSecond: 1, joinBurst: 2, maxRoomsPerStream: 1 });
    const alice = open();
    join(alice, 'alice', 'a');
    expect(refusal(() => join(alice, '', 'a'))).toBeInstanceOf(AlreadyJoinedError);
    expect(refusal(() => join(alice, '', 'b'))).toBeInstanceOf(TooManyRoomsError);
    hub.leave(alice, { userId: '', room: 'a' });
    join(alice, '', 'b');
    hub.leave(alice, { userId: '', room: 'b' });
    expect(refusal(() => join(alice, '', 'c'))).toBeInstanceOf(JoinRateLimitedError);
  });

  it('another session of a member is not ROOM_FULL; a new user is, before the churn is looked at', () => {
    start({ maxRoomMembers: 1, roomChurnPerSecond: 1, roomChurnBurst: 1 });
    join(open(), 'alice', 'lobby');
    join(open(), 'alice', 'lobby');
    expect(refusal(() => join(open(), 'bob', 'lobby'))).toBeInstanceOf(RoomFullError);
  });

  it('another session of a member spends none of the room’s churn; a new user past it gets ROOM_BUSY and stays unbound', () => {
    start({ maxRoomMembers: 10, roomChurnPerSecond: 1, roomChurnBurst: 1 });
    join(open(), 'alice', 'lobby');
    join(open(), 'alice', 'lobby');
    const bob = open();
    expect(refusal(() => join(bob, 'bob', 'lobby'))).toBeInstanceOf(RoomBusyError);
    // A refused first join binds nothing: the stream may still join as anyone.
    expect(bob.bound).toBe(false);
    join(bob, 'bob', 'elsewhere');
    expect(hub.listRooms().map((r) => [r.room, r.memberCount])).toEqual([['elsewhere', 1], ['lobby', 1]]);
  });

  it('a room in its grace period counts against CHAT_MAX_ROOMS until a new room needs its place: then the one empty longest is freed', () => {
    start({ maxRooms: 2, roomGraceMs: 60_000 });
    const alice = open();
    join(alice, 'alice', 'a');
    join(alice, 'alice', 'b');
    hub.leave(alice, { userId: '', room: 'a' });
    hub.leave(alice, { userId: '', room: 'b' });
    expect(hub.roomCount).toBe(2);
    // Joining one of them again needs no new place.
    join(open(), 'bob', 'b');
    // A new room takes the place of the one empty longest.
    join(open(), 'carol', 'c');
    expect(hub.listRooms().map((r) => r.room)).toEqual(['b', 'c']);
    // No room is empty now: the next new one is refused.
    expect(refusal(() => join(open(), 'dave', 'd'))).toBeInstanceOf(ServerRoomsFullError);
  });

  it('0 turns the join rate and the room churn off', () => {
    start({ joinRatePerSecond: 0, joinBurst: 1, roomChurnPerSecond: 0, roomChurnBurst: 1 });
    const alice = open();
    for (let i = 0; i < 10; i++) join(alice, 'alice', `r${i}`);
    for (let i = 0; i < 10; i++) join(open(), `u${i}`, 'r0');
    expect(hub.listRooms().find((r) => r.room === 'r0')?.memberCount).toBe(11);
  });
});
