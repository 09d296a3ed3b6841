import type { ChatMessage, MemberInfo, SequencedEvent } from './events.js';

/** What the owner answers a join with: the room as the joiner's JoinAck shows it. */
export interface JoinView {
  /** Members after the join, the joiner included. */
  members: MemberInfo[];
  /** The seq before this join's own notice (if any): the joiner gets every event after it. */
  lastSeq: number;
  epoch: string;
}

/** Where a room's sequence had got to, as its stored events say (for a node taking it over). */
export interface SequencerStart {
  epoch: string;
  seq: number;
  /** The sessions in the room, per node: rebuilt from the nodes' presence records. */
  holders: Array<{ node: string; session: string; userId: string; displayName: string }>;
  /** Recent (user, client_msg_id) pairs already sequenced, so a retried publish is not sequenced twice. */
  recent: Array<{ userId: string; clientMsgId: string; seq: number }>;
}

interface Member {
  info: MemberInfo;
  /** Sessions of this user in the room, per node (ids, so a retried command changes nothing). */
  sessions: Map<string, Set<string>>;
}

/** How many (user, client_msg_id) pairs a sequencer remembers for retries. */
const RECENT_PUBLISHES = 4096;

/**
 * The cluster-wide sequence of one room, as the node that owns the room runs
 * it: the next seq, and who is in the room on which node, so that a user's
 * first session anywhere is its join and its last session anywhere its leave.
 * Pure state: the owner appends each event it returns to the room's stream,
 * and every node (the owner too) fans out what the stream holds, so every
 * member sees one order. In one process the Room does this itself (Room.ts).
 */
export class RoomSequencer {
  private seq: number;
  private readonly members = new Map<string, Member>();
  /** Recent publishes by `${userId}\n${clientMsgId}`, for retries after a takeover. */
  private readonly recent = new Map<string, number>();

  constructor(
    readonly room: string,
    readonly epoch: string,
    start: Omit<SequencerStart, 'epoch'> = { seq: 0, holders: [], recent: [] },
    private readonly now: () => number = Date.now,
  ) {
    this.seq = start.seq;
    for (const h of start.holders) this.add(h.node, h.session, { userId: h.userId, displayName: h.displayName });
    for (const r of start.recent) this.remember(r.userId, r.clientMsgId, r.seq);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Users in the room now. */
  get memberCount(): number {
    return this.members.size;
  }

  /** Session `session` of this user on `node` joined: the join notice when it is the user's first anywhere. */
  join(node: string, session: string, info: MemberInfo): { view: JoinView; events: SequencedEvent[] } {
    const first = !this.members.has(info.userId);
    this.add(node, session, info);
    const lastSeq = this.seq;
    const events: SequencedEvent[] = first ? [this.presence('user_joined', this.members.get(info.userId)!.info)] : [];
    return { view: { members: [...this.members.values()].map((m) => m.info), lastSeq, epoch: this.epoch }, events };
  }

  /** Session `session` of this user on `node` left: the leave notice when it was the user's last anywhere. */
  leave(node: string, session: string, userId: string): SequencedEvent[] {
    const member = this.members.get(userId);
    const sessions = member?.sessions.get(node);
    if (member === undefined || sessions === undefined || !sessions.delete(session)) return [];
    if (sessions.size === 0) member.sessions.delete(node);
    if (member.sessions.size > 0) return [];
    this.members.delete(userId);
    return [this.presence('user_left', member.info)];
  }

  /** A node is gone: every user whose sessions were all there leaves. */
  dropNode(node: string): SequencedEvent[] {
    const events: SequencedEvent[] = [];
    for (const member of [...this.members.values()]) {
      if (!member.sessions.delete(node) || member.sessions.size > 0) continue;
      this.members.delete(member.info.userId);
      events.push(this.presence('user_left', member.info));
    }
    return events;
  }

  /** Nodes that hold sessions in the room. */
  nodes(): Set<string> {
    const out = new Set<string>();
    for (const m of this.members.values()) for (const node of m.sessions.keys()) out.add(node);
    return out;
  }

  /**
   * A member's message: the next event, or the seq it already got when this
   * (user, client_msg_id) was sequenced before (a forward retried after an owner
   * change). `undefined` when the user holds no session here.
   */
  publish(message: Omit<ChatMessage, 'room' | 'seq' | 'timestampUtc'>): { event?: SequencedEvent; seq: number } | undefined {
    const member = this.members.get(message.userId);
    if (member === undefined) return undefined;
    const earlier = message.clientMsgId === '' ? undefined : this.recent.get(`${message.userId}\n${message.clientMsgId}`);
    if (earlier !== undefined) return { seq: earlier };
    this.seq += 1;
    const event: SequencedEvent = { kind: 'message', message: { ...message, room: this.room, seq: this.seq, timestampUtc: this.now() } };
    if (message.clientMsgId !== '') this.remember(message.userId, message.clientMsgId, this.seq);
    return { event, seq: this.seq };
  }

  private add(node: string, session: string, info: MemberInfo): void {
    let member = this.members.get(info.userId);
    if (member === undefined) {
      member = { info, sessions: new Map() };
      this.members.set(info.userId, member);
    }
    let sessions = member.sessions.get(node);
    if (sessions === undefined) member.sessions.set(node, (sessions = new Set()));
    sessions.add(session);
  }

  private remember(userId: string, clientMsgId: string, seq: number): void {
    this.recent.set(`${userId}\n${clientMsgId}`, seq);
    if (this.recent.size > RECENT_PUBLISHES) this.recent.delete(this.recent.keys().next().value!);
  }

  private presence(kind: 'user_joined' | 'user_left', info: MemberInfo): SequencedEvent {
    this.seq += 1;
    return { kind, room: this.room, seq: this.seq, ...info };
  }
}
