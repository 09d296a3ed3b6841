import {
  AlreadyJoinedError,
  ImpersonationError,
  InvalidDisplayNameError,
  InvalidRequestError,
  InvalidRoomError,
  JoinRateLimitedError,
  RateLimitedError,
  RoomBusyError,
  RoomFullError,
  ServerRoomsFullError,
  TooManyRoomsError,
} from './errors.js';
import type { JoinCommand } from './Hub.js';
import type { Limits } from './limits.js';
import type { MemberInfo } from './events.js';
import type { Room } from './Room.js';
import type { Session } from './Session.js';
import { checkDisplayName, checkRoom, checkUserId } from './text.js';

/**
 * What a request must pass before the hub applies it, in the order a client
 * meets them (the errors it gets are the domain's typed errors, errors.ts):
 * identity, the stream's request rate, the room's name; for a join, the user's
 * id and name on the first one, the stream's rooms, and the abuse limits on
 * joins. It changes nothing but the token buckets it draws from.
 */
export class RequestChecks {
  constructor(private readonly limits: Limits) {}

  /** Identity first (no one speaks as someone else), then the rate, then the room name. */
  request(session: Session, userId: string, room: string, clientMsgId: string): void {
    if (session.bound && userId !== '' && userId !== session.userId) {
      throw new ImpersonationError(`this stream is bound to user "${session.userId}", not "${userId}"`);
    }
    if (!session.rate.take()) {
      throw new RateLimitedError(`more than ${this.limits.ratePerSecond} requests per second (burst ${this.limits.rateBurst})`, room, clientMsgId);
    }
    const refusal = checkRoom(room, this.limits.maxRoomLength);
    if (refusal) throw new InvalidRoomError(refusal, room, clientMsgId);
  }

  /**
   * A join of `room` (undefined: it does not exist yet, and the server holds
   * `rooms`): who the session is after it (a verified user's or the join's id
   * and name on its first join; else who it already is).
   */
  join(session: Session, cmd: JoinCommand, room: Room | undefined, rooms: number): MemberInfo {
    const { verified } = session;
    // With a verified user the join may leave user_id empty; naming another is impersonation.
    const userId = session.bound ? cmd.userId : (verified?.userId ?? cmd.userId);
    if (!session.bound) {
      if (verified !== undefined && cmd.userId !== '' && cmd.userId !== verified.userId) {
        throw new ImpersonationError(`this stream's token is for user "${verified.userId}", not "${cmd.userId}"`);
      }
      if (userId === '') throw new InvalidRequestError('user_id is required on the first join');
      const refusal = checkUserId(userId, this.limits.maxUserIdLength);
      if (refusal) throw new InvalidRequestError(verified === undefined ? refusal : `the token's sub: ${refusal}`);
    }
    this.request(session, cmd.userId, cmd.room, '');
    if (session.rooms.has(cmd.room)) {
      throw new AlreadyJoinedError(`already in #${cmd.room} on this stream`, cmd.room);
    }
    if (session.rooms.size >= this.limits.maxRoomsPerStream) {
      throw new TooManyRoomsError(`a stream may be in at most ${this.limits.maxRoomsPerStream} rooms`, cmd.room);
    }
    this.abuse(session, cmd, room, rooms);
    if (session.bound) return { userId: session.userId, displayName: session.displayName };
    const displayName = verified?.displayName ?? (cmd.displayName === '' ? userId : cmd.displayName);
    const refusal = checkDisplayName(displayName, this.limits.maxDisplayNameLength);
    if (refusal) throw new InvalidDisplayNameError(verified?.displayName === undefined ? refusal : `the token's name claim: ${refusal}`, cmd.room);
    return { userId, displayName };
  }

  /**
   * The abuse limits on joins: the stream's join rate, then the server's room
   * count (for a room that does not exist yet), then the room's members and
   * presence churn (for a user who is not in it yet; another session of a member adds neither).
   */
  private abuse(session: Session, cmd: JoinCommand, room: Room | undefined, rooms: number): void {
    const { limits } = this;
    if (!session.joinRate.take()) {
      throw new JoinRateLimitedError(`more than ${limits.joinRatePerSecond} joins per second on this stream (burst ${limits.joinBurst})`, cmd.room);
    }
    if (room === undefined) {
      if (rooms >= limits.maxRooms) {
        throw new ServerRoomsFullError(`the server holds its limit of ${limits.maxRooms} rooms (server-wide); join an existing room or retry later`, cmd.room);
      }
      return;
    }
    if (room.hasMember(session.bound ? session.userId : (session.verified?.userId ?? cmd.userId))) return;
    if (room.memberCount >= limits.maxRoomMembers) {
      throw new RoomFullError(`#${cmd.room} has its limit of ${limits.maxRoomMembers} members`, cmd.room);
    }
    if (!room.churn.take()) {
      throw new RoomBusyError(`#${cmd.room} has more than ${limits.roomChurnPerSecond} joins and leaves per second (burst ${limits.roomChurnBurst}); retry in a moment`, cmd.room);
    }
  }
}
