import { ImpersonationError, RoomRequestError, StreamError } from '../../src/domain/errors.js';
import { type DomainEvent, seqOf } from '../../src/domain/events.js';
import { Hub } from '../../src/domain/Hub.js';
import { defaultLimits, type Limits } from '../../src/domain/limits.js';
import type { Session } from '../../src/domain/Session.js';
import { toErrorNotice } from '../../src/server/toServerError.js';
import { type HubCommand, USERS } from './hubCommands.js';
import { encode, Inbox, isSequenced, roomOf } from './Inbox.js';
import { MemoryBackplane } from './MemoryBackplane.js';

/** Small bounds, so that short command sequences reach them: TOO_MANY_ROOMS, slow readers cut off, rooms freed at once. */
export const fleetLimits: Limits = { ...defaultLimits, ratePerSecond: 0, coalesceMs: 0, roomGraceMs: 0, maxRoomsPerStream: 2, queueEvents: 12 };

const CONTENT = { ok: '', empty: '', long: 'x'.repeat(defaultLimits.maxContentBytes + 1), control: 'bell \u0007' };

/** What one session has learnt of a room since its JoinAck. */
interface Seen {
  epoch: string;
  ackLast: number;
  /** The last seq it received after the ack (undefined: none yet). */
  last: number | undefined;
  /** Who it believes is in the room: the ack's members, plus joins, minus leaves. */
  members: Set<string>;
}

interface Client {
  node: number;
  inbox: Inbox;
  /** Reads after every step; a slow reader only when told to (`read`). */
  reader: boolean;
  closed: boolean;
  seen: Map<string, Seen>;
}

/**
 * Hubs driven as the Channel handler drives one (src/server/channel.ts): each
 * command is applied, a refused room request becomes its TYPE_ERROR notice, a
 * stream error ends the session. Every session's events are checked as they
 * are read against the rules of PROTOCOL.md (`check()` after every step), and
 * anything but the domain's typed errors fails at once.
 * One hub sequences its own rooms; several share theirs through a MemoryBackplane.
 */
export class HubFleet {
  readonly hubs: Hub[];
  readonly backplane: MemoryBackplane | undefined;
  private readonly clients: Client[] = [];
  /** Per room life (`room|epoch|seq`), the event every member must have seen at that seq. */
  private readonly order = new Map<string, string>();
  /** Per room, an epoch some session was given: what a resume names. */
  private readonly epochs = new Map<string, string>();
  steps = 0;
  /** What the run exercised, by kind (events read, refusals by code, stream ends by error): shows a run did reach the cases. */
  static readonly tally = new Map<string, number>();

  constructor(nodes: number, readonly limits: Limits = fleetLimits) {
    this.backplane = nodes > 1 ? new MemoryBackplane() : undefined;
    this.hubs = Array.from({ length: nodes }, (_, i) => new Hub({ limits, encode, backplane: this.backplane?.for(`n${i}`) }));
  }

  private get shared(): boolean {
    return this.backplane !== undefined;
  }

  private open(): Client[] {
    return this.clients.filter((c) => !c.closed);
  }

  async apply(cmd: HubCommand): Promise<void> {
    this.steps += 1;
    if (cmd.op === 'open') {
      if (this.open().length >= 8) return;
      const inbox = new Inbox(this.hubs[cmd.node % this.hubs.length]!.openSession());
      this.clients.push({ node: cmd.node % this.hubs.length, inbox, reader: cmd.reader, closed: false, seen: new Map() });
      return;
    }
    // A publish or leave to `*` comes from a session in some room, when there is one.
    const inRooms = this.open().filter((c) => c.inbox.session.rooms.size > 0);
    const open = cmd.op !== 'join' && 'room' in cmd && cmd.room === '*' && inRooms.length > 0 ? inRooms : this.open();
    if (open.length === 0) return;
    const client = open[cmd.s % open.length]!;
    const { session } = client.inbox;
    const hub = this.hubs[client.node]!;
    if (cmd.op === 'read') return this.observe(client, await client.inbox.take());
    if (cmd.op === 'close') {
      // As a half-close: the session leaves its rooms, then its queue ends once read.
      hub.closeSession(session);
      session.queue.close();
      client.closed = true;
      return;
    }
    if (cmd.op !== 'join' && cmd.room === '*') cmd = { ...cmd, room: [...session.rooms.keys()][cmd.s % Math.max(1, session.rooms.size)] ?? 'r1' };
    if (cmd.op === 'join' && cmd.user === '@') cmd = { ...cmd, user: session.userId || USERS[cmd.s % 3]! };
    const impersonating = session.bound && cmd.user !== '' && cmd.user !== session.userId;
    const bound = session.userId;
    try {
      if (cmd.op === 'join') {
        const epoch = cmd.epoch === 'known' ? (this.epochs.get(cmd.room) ?? '') : cmd.epoch === 'stale' ? 'stale-epoch' : '';
        const join = { userId: cmd.user, room: cmd.room, displayName: '', afterSeq: cmd.afterSeq, history: cmd.history, epoch, batchEvents: false };
        if (this.shared) await hub.joinShared(session, join);
        else hub.join(session, join);
      } else if (cmd.op === 'publish') {
        const publish = { userId: cmd.user, room: cmd.room, content: CONTENT[cmd.content] || `from client ${this.clients.indexOf(client)}`, clientMsgId: `m${this.steps}`, traceContext: {} };
        if (this.shared) await hub.publishShared(session, publish);
        else hub.publish(session, publish);
      } else if (this.shared) await hub.leaveShared(session, { userId: cmd.user, room: cmd.room });
      else hub.leave(session, { userId: cmd.user, room: cmd.room });
      if (impersonating) throw new Error(`session ${session.id} (bound to ${bound}) acted as ${cmd.user}: ${JSON.stringify(cmd)}`);
    } catch (error) {
      if (impersonating && !(error instanceof ImpersonationError)) throw new Error(`impersonation by session ${session.id} not refused as such`, { cause: error });
      HubFleet.count(error instanceof RoomRequestError ? error.code : (error as Error).name);
      if (error instanceof RoomRequestError) session.send(toErrorNotice(error));
      else if (error instanceof StreamError) {
        hub.closeSession(session);
        session.queue.abort(error);
        client.closed = true;
      } else throw error;
    }
    if (session.userId !== bound && bound !== '') throw new Error(`session ${session.id} was rebound from ${bound} to ${session.userId}`);
  }

  /** Lets what was queued as microtasks (cut-offs, shared leaves) run, reads the readers' queues, and checks every rule. */
  async check(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    for (const client of this.clients) {
      if (client.inbox.session.queue.closed && !client.closed) {
        client.closed = true;
        HubFleet.count('cut off');
      }
      const { queue } = client.inbox.session;
      if (queue.length > this.limits.queueEvents || queue.bytes > this.limits.queueBytes) throw new Error(`session ${client.inbox.session.id}'s queue is past its bounds`);
      if (client.reader || client.closed) this.observe(client, await client.inbox.take());
    }
    for (const client of this.open()) {
      const { session } = client.inbox;
      if (session.queue.length > 0) continue; // a slow reader believes what it has read so far
      const rooms = [...session.rooms.keys()].sort();
      const believed = [...client.seen.keys()].sort();
      if (rooms.join() !== believed.join()) throw new Error(`session ${session.id} is in [${rooms}] but was told [${believed}]`);
      for (const room of rooms) {
        const truth = this.usersIn(room);
        const belief = [...client.seen.get(room)!.members].sort();
        if (truth.join() !== belief.join()) throw new Error(`session ${session.id} believes #${room} holds [${belief}], it holds [${truth}]`);
      }
    }
    if (!this.shared) {
      const hub = this.hubs[0]!;
      for (const summary of hub.listRooms()) if (summary.memberCount !== this.usersIn(summary.room).length) throw new Error(`#${summary.room} counts ${summary.memberCount} members`);
    }
  }

  /** Closes every session; then nothing may be left: sessions, rooms, members, queued bytes. */
  async closeAll(): Promise<void> {
    for (const client of this.open()) {
      this.hubs[client.node]!.closeSession(client.inbox.session);
      client.inbox.session.queue.close();
      client.closed = true;
    }
    await this.check();
    for (const [i, hub] of this.hubs.entries()) {
      const left = { sessions: hub.sessionCount, rooms: hub.roomCount, members: hub.memberCount, queuedBytes: hub.queued().bytes };
      if (Object.values(left).some((n) => n !== 0)) throw new Error(`hub ${i} holds ${JSON.stringify(left)} after every session closed`);
    }
    for (const [room, sequencer] of this.backplane?.sequencers ?? []) if (sequencer.memberCount !== 0) throw new Error(`#${room}'s sequencer still counts ${sequencer.memberCount} members`);
  }

  /** Every session's events (what is still queued taken too), for the report of a failing case. */
  async dump(): Promise<string> {
    const lines = [];
    for (const [i, c] of this.clients.entries()) {
      await c.inbox.take().catch(() => []);
      lines.push(`client ${i}: hub ${c.node} session ${c.inbox.session.id} ${c.inbox.session.userId || '(unbound)'}${c.closed ? ' closed' : ''}: ${c.inbox.summary().join(' ')}`);
    }
    for (const [room, events] of this.backplane?.stored ?? []) lines.push(`stored #${room}: ${events.map((e) => `${e.kind}:${e.kind === 'message' ? e.message.userId : e.userId}:${seqOf(e)}`).join(' ')}`);
    return lines.join('\n');
  }

  static count(what: string): void {
    HubFleet.tally.set(what, (HubFleet.tally.get(what) ?? 0) + 1);
  }

  dispose(): void {
    for (const client of this.clients) client.inbox.session.queue.abort();
    for (const hub of this.hubs) hub.dispose();
  }

  /** The users bound to open sessions in the room, on every hub. */
  private usersIn(room: string): string[] {
    const users = new Set<string>();
    for (const client of this.clients) if (!client.inbox.session.queue.closed && client.inbox.session.rooms.has(room)) users.add(client.inbox.session.userId);
    return [...users].sort();
  }

  /** Checks one session's newly read events: acks, then per room seqs rising by one, one order for all, presence, who sent what. */
  private observe(client: Client, events: DomainEvent[]): void {
    const { session } = client.inbox;
    const fail = (why: string, event: DomainEvent) => {
      throw new Error(`session ${session.id} on hub ${client.node} (${session.userId}): ${why}: ${JSON.stringify(event)}; it read ${client.inbox.summary().join(' ')}`);
    };
    for (const event of events) {
      HubFleet.count(event.kind);
      if (event.kind === 'ack') {
        if (event.userId !== session.userId) fail('ack for another user', event);
        if (client.seen.has(event.room)) fail('a second ack for a room it is in', event);
        client.seen.set(event.room, { epoch: event.epoch, ackLast: event.lastSeq, last: undefined, members: new Set(event.members.map((m) => m.userId)) });
        this.epochs.set(event.room, event.epoch);
        continue;
      }
      if (event.kind === 'session_left') {
        if (!client.seen.delete(event.room)) fail('left a room it was not in', event);
        continue;
      }
      if (!isSequenced(event)) continue;
      const room = roomOf(event);
      const seen = client.seen.get(room);
      if (seen === undefined) return fail('a room event without being in the room', event);
      const seq = seqOf(event);
      if (seen.last !== undefined ? seq !== seen.last + 1 : seq > seen.ackLast + 1) fail(`seq ${seq} after ${seen.last ?? `an ack at ${seen.ackLast}`}`, event);
      seen.last = seq;
      const what = event.kind === 'message' ? `message:${event.message.userId}:${event.message.content}` : `${event.kind}:${event.userId}`;
      const key = `${room}|${seen.epoch}|${seq}`;
      const first = this.order.get(key);
      if (first === undefined) this.order.set(key, what);
      else if (first !== what) fail(`seq ${seq} of #${room} was ${first} for another member`, event);
      if (event.kind === 'message') {
        // Content `from client <i>` names the publishing session (ids are per hub): its bound user must be the sender.
        const sender = this.clients.find((c, i) => `from client ${i}` === event.message.content);
        if (sender !== undefined && sender.inbox.session.userId !== event.message.userId) fail(`a message of ${sender.inbox.session.userId} shown as ${event.message.userId}`, event);
        continue;
      }
      if (seq <= seen.ackLast) continue; // replayed history: the ack's member list is newer
      if (event.kind === 'user_joined') seen.members.add(event.userId);
      else {
        seen.members.delete(event.userId);
        if (event.userId === session.userId) client.seen.delete(room); // its own explicit leave
      }
    }
  }
}
