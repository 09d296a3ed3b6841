import { Gate } from '../lib/Gate.js';
import { TokenBucket } from '../lib/TokenBucket.js';
import { type ChatMessage, type EncodeEvent, type MemberInfo, type SequencedEvent, seqOf } from './events.js';
import { Fanout } from './Fanout.js';
import { History } from './History.js';
import type { Limits } from './limits.js';
import type { Session } from './Session.js';

/** What a join asks of the room beyond the session itself. */
export interface JoinOptions {
  /** Resume after this seq (0 with an empty epoch: no resume). */
  afterSeq: number;
  /** The epoch afterSeq belongs to ('' means this one). */
  epoch: string;
  /** How many recent messages the JoinAck should carry. */
  history: number;
}

/** A room as ListRooms shows it. */
export interface RoomSummary {
  room: string;
  memberCount: number;
  lastSeq: number;
  epoch: string;
}

/** The longest a room holds joins and leaves, however big it is. */
const MAX_PRESENCE_HOLD_MS = 1000;

interface Member {
  /** Who, as JoinAcks list it: one object for as long as the member stays. */
  info: MemberInfo;
  sessions: Set<Session>;
}

/** What a join did, for whoever observes the server. */
export interface JoinResult {
  /** The join asked to resume (after_seq or epoch given). */
  resumed: boolean;
  /** The resume replays everything missed. */
  recovered: boolean;
  /** Members of the room after the join. */
  members: number;
}

/** What a publish did: the event's bytes as every receiver gets them, its seq, and how many sessions it went to. */
export interface PublishResult {
  frame: Uint8Array;
  seq: number;
  fanout: number;
}

/**
 * A room actor: it alone owns its members, sequence and history. Each command
 * runs to completion synchronously, so commands apply one at a time in arrival
 * order; each event gets the next seq, is encoded once, held in history and
 * queued to every member session without waiting for any of them.
 *
 * While any member session holds the room back (it is behind: see Session), the
 * room is not accepting: the hub lets no publish or join in until it is again, so
 * publishers are slowed down instead of members being cut off.
 */
export class Room {
  private seq = 0;
  private readonly members = new Map<string, Member>();
  private readonly fanout: Fanout;
  private readonly history: History;
  /** Member sessions that are behind and not stalled. */
  private readonly holding = new Set<Session>();
  private readonly gate = new Gate();
  /** For a room sequenced elsewhere: this node's sessions in it, and who each is. */
  private readonly local = new Map<Session, MemberInfo>();
  /** Presence churn: each member that comes or goes takes a token; a join finding none is refused (ROOM_BUSY). */
  readonly churn: TokenBucket;

  constructor(
    readonly name: string,
    /** Names this life of the room's sequence (a room sequenced elsewhere takes its owner's). */
    public epoch: string,
    private readonly limits: Limits,
    private readonly encode: EncodeEvent,
    private readonly now: () => number,
    /** Flush coalesced frames once this many bytes are pending. */
    runBytes = Infinity,
    /** Told each time the room stops accepting. */
    private readonly onPause: () => void = () => {},
  ) {
    this.history = new History(limits.historyEvents, limits.historyBytes);
    this.fanout = new Fanout(runBytes);
    this.churn = new TokenBucket(limits.roomChurnPerSecond, limits.roomChurnBurst);
  }

  /** False while a member's queue holds the room back. */
  get accepting(): boolean {
    return this.gate.isOpen;
  }

  /** Resolves once the room accepts publishes and joins again. */
  whenAccepting(): Promise<void> {
    return this.gate.whenOpen();
  }

  /** A member session starts or stops holding the room back. Safe to repeat. */
  holdBack(session: Session, holds: boolean): void {
    if (holds) {
      if (this.holding.has(session)) return;
      this.holding.add(session);
      if (this.holding.size === 1) {
        this.gate.shut();
        this.onPause();
      }
    } else if (this.holding.delete(session) && this.holding.size === 0) this.gate.open();
  }

  get isEmpty(): boolean {
    return this.fanout.size === 0;
  }

  /** This node's sessions in a room sequenced elsewhere, with who each is. */
  localSessions(): ReadonlyMap<Session, MemberInfo> {
    return this.local;
  }

  /** The seq of the room's newest event (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  summary(): RoomSummary {
    return { room: this.name, memberCount: this.members.size, lastSeq: this.seq, epoch: this.epoch };
  }

  /**
   * Adds the session: JoinAck, then (on resume) a MISSED_EVENTS notice if events
   * were lost and the held events after `afterSeq`, then, when this is the
   * user's first session here, the join notice as the room's next event.
   */
  join(session: Session, options: JoinOptions): JoinResult {
    // Counted from now on; what it is delivered here updates it through session.rooms.
    this.holdBack(session, session.holdsBack);
    const lastSeq = this.seq;
    let member = this.members.get(session.userId);
    const announce = member === undefined;
    if (member === undefined) {
      member = { info: { userId: session.userId, displayName: session.displayName }, sessions: new Set() };
      this.members.set(session.userId, member);
    }
    member.sessions.add(session);
    this.fanout.add(session);
    // Stable objects: the encoder may cache each one's bytes (big rooms).
    const result = this.welcome(session, options, [...this.members.values()].map((m) => m.info), lastSeq);
    if (announce) this.sequence(this.presence('user_joined', member), this.presenceHoldMs());
    return result;
  }

  /**
   * For a room sequenced on another node (the NATS backplane): adds a session
   * whose join the room's owner answered with `view`, once this room has
   * applied the owner's events up to view.lastSeq. What it applied after that
   * (the join's own notice among them) is replayed to the session at once.
   */
  attach(session: Session, options: JoinOptions, view: { members: MemberInfo[]; lastSeq: number }): JoinResult {
    this.holdBack(session, session.holdsBack);
    this.fanout.add(session);
    this.local.set(session, { userId: session.userId, displayName: session.displayName });
    const result = this.welcome(session, options, view.members, view.lastSeq);
    // welcome() replayed up to view.lastSeq, whatever after_seq claimed: an after_seq
    // past it (another life of the room, or a bogus one) must not skip what follows.
    for (const held of this.history.since(view.lastSeq)) session.deliver(held.frame.subarray());
    return { ...result, members: view.members.length };
  }

  /** For a room sequenced on another node: the session leaves this node's fan-out; the owner sequences any leave. */
  detach(session: Session): void {
    if (!this.local.delete(session)) return;
    this.fanout.remove(session);
    this.holdBack(session, false);
  }

  /**
   * For a room sequenced on another node: an event of the owner's, in the order
   * its stream holds them. One already applied (a replay) is skipped; a new
   * epoch (the room's history was lost) starts the sequence again.
   */
  apply(event: SequencedEvent, epoch: string): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.seq = 0;
      this.history.clear();
    }
    const seq = seqOf(event);
    if (seq <= this.seq) return;
    this.seq = seq - 1;
    this.sequence(event, event.kind === 'message' ? this.holdMs(this.limits.coalesceMs) : this.presenceHoldMs());
  }

  /**
   * The JoinAck, then (on resume) a MISSED_EVENTS notice if events were lost
   * and the held events after `afterSeq` (up to lastSeq).
   */
  private welcome(session: Session, options: JoinOptions, members: MemberInfo[], lastSeq: number): JoinResult {
    const resume = options.afterSeq > 0 || options.epoch !== '';
    const sameLife = (options.epoch === '' || options.epoch === this.epoch) && options.afterSeq <= lastSeq;
    const oldest = this.history.oldestSeq ?? lastSeq + 1;
    const recovered = resume && sameLife && oldest <= options.afterSeq + 1;
    session.send({
      kind: 'ack',
      room: this.name,
      userId: session.userId,
      welcome: `Welcome to #${this.name}, ${session.displayName}!`,
      members,
      history: this.history.lastMessages(Math.min(options.history, this.limits.maxJoinHistory)),
      lastSeq,
      epoch: this.epoch,
      recovered,
    });
    if (resume) {
      if (!recovered) {
        const missedCount = sameLife ? oldest - options.afterSeq - 1 : 0;
        session.send({
          kind: 'generic',
          code: 'MISSED_EVENTS',
          message: sameLife
            ? `missed ${missedCount} events of #${this.name} that are no longer held`
            : `#${this.name} restarted its sequence (epoch ${this.epoch}); earlier events are lost`,
          room: this.name,
          missedCount,
        });
      }
      // A fresh view of the same bytes: whoever follows each live fan-out by its
      // frame (the server's telemetry) does not take a replay for a live delivery.
      for (const held of this.history.since(sameLife ? options.afterSeq : 0)) {
        if (seqOf(held.event) > lastSeq) break;
        session.deliver(held.frame.subarray());
      }
    }
    return { resumed: resume, recovered, members: members.length };
  }

  /** Removes the session; the user's last session leaving is announced as the next event. */
  leave(session: Session, explicit: boolean): void {
    const member = this.members.get(session.userId);
    if (member === undefined || !member.sessions.delete(session)) return;
    this.fanout.remove(session);
    if (member.sessions.size === 0) {
      this.members.delete(member.info.userId);
      // A leave is never refused, but it spends the room's churn like a join.
      this.churn.take();
      const frame = this.sequence(this.presence('user_left', member), this.presenceHoldMs());
      // The leaver is no longer a member, but an explicit leave deserves its answer.
      if (explicit) session.deliver(frame);
    } else if (explicit) {
      session.send({ kind: 'session_left', room: this.name, ...member.info });
    }
    this.holdBack(session, false);
  }

  /** Sequences a chat message from a member session and fans it out. */
  publish(session: Session, content: string, clientMsgId: string, traceContext: Record<string, string>): PublishResult {
    const message: ChatMessage = {
      room: this.name,
      seq: this.seq + 1,
      userId: session.userId,
      displayName: session.displayName,
      content,
      timestampUtc: this.now(),
      clientMsgId,
      traceContext,
    };
    const frame = this.sequence({ kind: 'message', message }, this.holdMs(this.limits.coalesceMs));
    return { frame, seq: message.seq, fanout: this.fanout.size };
  }

  /** Whether the user is a member (from any session). */
  hasMember(userId: string): boolean {
    return this.members.has(userId);
  }

  /** Members (users, not sessions) now. */
  get memberCount(): number {
    return this.members.size;
  }

  private presence(kind: 'user_joined' | 'user_left', member: Member): SequencedEvent {
    return { kind, room: this.name, seq: this.seq + 1, ...member.info };
  }

  /**
   * In a big room, joins and leaves come in storms, and every flush costs a write
   * per member: hold them in proportion to the room's size, so that a storm goes
   * out in few, large runs and its writes take a bounded share of the server.
   */
  private presenceHoldMs(): number {
    const members = this.fanout.size;
    if (members < this.limits.presenceCoalesceMembers) return this.holdMs(this.limits.coalesceMs);
    const scaled = Math.min(MAX_PRESENCE_HOLD_MS, (this.limits.presenceCoalesceMs * members) / 1000);
    return Math.max(0, this.limits.coalesceMs, scaled);
  }

  /** A linger of 0 ms means no hold at all. */
  private holdMs(lingerMs: number): number {
    return lingerMs > 0 ? lingerMs : -1;
  }

  /** Delivers held events now (before the server drains). */
  flush(): void {
    this.fanout.flush();
  }

  /**
   * Gives the event the next seq, encodes it once, holds it in history and
   * hands it to the fan-out (which may coalesce it for batching sessions).
   */
  private sequence(event: SequencedEvent, holdMs: number): Uint8Array {
    this.seq += 1;
    const frame = this.encode(event);
    this.history.append({ event, frame });
    this.fanout.send(frame, holdMs);
    return frame;
  }
}
