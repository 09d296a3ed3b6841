import { randomBytes } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { type SequencedEvent, seqOf } from '../../domain/events.js';
import { RoomSequencer, type SequencerStart } from '../../domain/RoomSequencer.js';
import { commandSubject, ROOM_STREAM, roomSubject, roomToken } from './natsNames.js';
import type { Command, Reply, StoredBatch } from './wire.js';

/** Most commands whose events go in one stored message (each adds an event or two). */
const MAX_BATCH_COMMANDS = 256;

/** What an owner needs of its node. */
export interface OwnerContext {
  node: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  owners: KV;
  nodes: KV;
  presence: KV;
  log: Logger;
  /** How long a lease lasts without renewal (the owners bucket's TTL). */
  leaseMs: number;
  /** How often the owner looks for nodes whose heartbeat has expired. */
  sweepMs: number;
  /** Told when this node stops owning the room (lease lost, store failure, shutdown). */
  onEnd: (owner: RoomOwner) => void;
}

/**
 * The node that owns a room: it alone sequences it (RoomSequencer), taking
 * commands from every node on the room's command subject and appending the
 * events to the room's subject in the stream, where every node (this one
 * too) reads them. It holds the room through a KV lease: created once (KV
 * create is atomic in the cluster), renewed by revision; a node that cannot
 * renew it, or whose append comes back as a duplicate (another owner stored
 * that seq first), steps down and lets the next command's node take over.
 */
export class RoomOwner {
  private sub: Subscription | undefined;
  private renewal: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** Commands' events waiting for the append in flight; each command's reply waits for its own. */
  private queue: Array<{ events: SequencedEvent[]; stored: () => void; failed: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private ended = false;

  private constructor(
    readonly room: string,
    private readonly ctx: OwnerContext,
    private readonly sequencer: RoomSequencer,
    private revision: number,
  ) {}

  /** Takes the room when no node holds its lease; undefined when one does. */
  static async take(room: string, ctx: OwnerContext): Promise<RoomOwner | undefined> {
    let revision: number;
    try {
      revision = await ctx.owners.create(roomToken(room), ctx.node);
    } catch {
      return undefined;
    }
    let start: SequencerStart;
    try {
      start = await readStart(room, ctx);
    } catch (error) {
      // Give the lease back at once rather than hold the room for a TTL nobody renews.
      await ctx.owners.delete(roomToken(room)).catch(() => {});
      throw error;
    }
    const owner = new RoomOwner(room, ctx, new RoomSequencer(room, start.epoch, start), revision);
    owner.listen();
    ctx.log.info({ event: 'room_owned', room, epoch: start.epoch, seq: start.seq, members: owner.sequencer.memberCount });
    // Sessions of nodes that died while nobody owned the room leave now.
    await owner.sweep();
    return owner;
  }

  /** Stops owning the room: the lease is given back so another node takes over at once. */
  async stop(): Promise<void> {
    if (this.end('stopped')) {
      await this.flushing;
      await this.ctx.owners.delete(roomToken(this.room)).catch(() => {});
    }
  }

  private listen(): void {
    this.sub = this.ctx.nc.subscribe(commandSubject(this.room), { callback: (error, msg) => {
        if (error === null) this.received(msg);
      } });
    this.renewal = setInterval(() => void this.renew(), this.ctx.leaseMs / 3).unref();
    this.sweeper = setInterval(() => void this.sweep(), this.ctx.sweepMs).unref();
  }

  /**
   * A node's commands for the room, in the order it sent them: sequenced one
   * after the other, their events stored in one append. The answers come once
   * that append is stored, all OK, or all UNAVAILABLE when it could not be
   * (the node asks again, the next owner; retried commands change nothing:
   * sessions are named, publishes recognized by client_msg_id).
   */
  handle(commands: Command[]): Promise<Reply[]> {
    if (this.ended) return Promise.resolve(commands.map(() => unavailable('no longer the owner')));
    const events: SequencedEvent[] = [];
    const replies = commands.map((command) => this.apply(command, events));
    return this.append(events).then(
      () => replies,
      (error: unknown) => commands.map(() => unavailable(`the room's owner could not store it: ${String(error)}`)),
    );
  }

  private received(msg: Msg): void {
    let commands: Command[];
    try {
      commands = msg.json<Command[]>();
    } catch {
      return void msg.respond(JSON.stringify([{ ok: false, code: 'INVALID_REQUEST', message: 'malformed commands' }] satisfies Reply[]));
    }
    void this.handle(commands).then((replies) => msg.respond(JSON.stringify(replies)));
  }

  /** One command against the sequencer: its answer, and its events added to `events`. */
  private apply(command: Command, events: SequencedEvent[]): Reply {
    const s = this.sequencer;
    switch (command.op) {
      case 'join': {
        const joined = s.join(command.node, command.session, { userId: command.userId, displayName: command.displayName });
        events.push(...joined.events);
        return { ok: true, view: joined.view };
      }
      case 'leave': {
        const left = s.leave(command.node, command.session, command.userId);
        events.push(...left);
        return { ok: true, seq: left[0] === undefined ? undefined : seqOf(left[0]) };
      }
      case 'publish': {
        const published = s.publish({ userId: command.userId, displayName: command.displayName, content: command.content, clientMsgId: command.clientMsgId, traceContext: command.traceContext });
        if (published === undefined) return { ok: false, code: 'NOT_JOINED', message: `not in #${this.room}` };
        if (published.event) events.push(published.event);
        return { ok: true, seq: published.seq };
      }
    }
  }

  /**
   * Appends events after everything appended before; resolves once they are
   * stored. One append is in flight at a time (a room's order is the stream's
   * order); what comes meanwhile goes in the next one, as one message.
   */
  private append(events: SequencedEvent[]): Promise<void> {
    if (this.ended) return Promise.reject(new Error('no longer the owner'));
    return new Promise((stored, failed) => {
      this.queue.push({ events, stored, failed });
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const items = this.queue.splice(0, MAX_BATCH_COMMANDS);
      const events = items.flatMap((i) => i.events);
      try {
        if (events.length > 0) await this.store(events);
        for (const i of items) i.stored();
      } catch (error) {
        for (const i of [...items, ...this.queue.splice(0)]) i.failed(error);
        this.end(`append failed: ${String(error)}`);
      }
    }
  }

  /**
   * Stores one batch, retrying it as it is (a failover stalls writes for
   * seconds) while the lease lasts. Its message id names this owner and the
   * batch's first seq: a retry that was stored already is taken once, and a
   * second owner's batch (a lease lost unnoticed) is stored beside it, where
   * every node skips the seqs it already applied, so all keep one order.
   */
  private async store(events: SequencedEvent[]): Promise<void> {
    const first = events[0]!;
    const msgID = `${this.sequencer.epoch}.${seqOf(first)}.${this.ctx.node}`;
    const body = JSON.stringify({ epoch: this.sequencer.epoch, events } satisfies StoredBatch);
    const deadline = Date.now() + this.ctx.leaseMs;
    for (;;) {
      try {
        await this.ctx.js.publish(roomSubject(this.room), body, { msgID, timeout: 5000 });
        return;
      } catch (error) {
        if (this.ended || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private async renew(): Promise<void> {
    if (this.ended) return;
    try {
      this.revision = await this.ctx.owners.update(roomToken(this.room), this.ctx.node, this.revision);
    } catch (error) {
      // A failover may stall the write for seconds: only a lease that is really gone (another revision) ends ownership.
      const now = await this.ctx.owners.get(roomToken(this.room)).catch(() => undefined);
      if (now === undefined) return;
      if (now === null || now.operation !== 'PUT' || now.revision !== this.revision) this.end(`lease lost: ${String(error)}`);
    }
  }

  /** Nodes whose heartbeat expired: their sessions leave. A read that fails proves nothing, so it removes nobody. */
  private async sweep(): Promise<void> {
    for (const node of this.sequencer.nodes()) {
      if (node === this.ctx.node || this.ended) continue;
      const beat = await this.ctx.nodes.get(node).catch(() => undefined);
      if (beat !== null && (beat === undefined || beat.operation === 'PUT')) continue;
      const events = this.sequencer.dropNode(node);
      this.ctx.log.info({ event: 'node_gone', room: this.room, node, leaves: events.length });
      void this.append(events).catch(() => {});
      void this.ctx.presence.delete(`${roomToken(this.room)}.${node}`).catch(() => {});
    }
  }

  /** Ends ownership once; returns whether this call did. */
  private end(reason: string): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.sub?.unsubscribe();
    clearInterval(this.renewal);
    clearInterval(this.sweeper);
    for (const i of this.queue.splice(0)) i.failed(new Error('no longer the owner'));
    this.ctx.log.info({ event: 'room_released', room: this.room, reason });
    this.ctx.onEnd(this);
    return true;
  }
}

function unavailable(message: string): Reply {
  return { ok: false, code: 'UNAVAILABLE', message };
}

/**
 * Where the room's sequence is: its held events (the last one's epoch and seq,
 * and the recent (user, client_msg_id) pairs, so a publish retried after the
 * old owner stored it is not sequenced twice), and the sessions the nodes'
 * presence records list.
 */
async function readStart(room: string, ctx: OwnerContext): Promise<SequencerStart> {
  const holders: SequencerStart['holders'] = [];
  const keys = await ctx.presence.keys(`${roomToken(room)}.*`);
  for await (const key of keys) {
    const entry = await ctx.presence.get(key);
    if (entry?.operation !== 'PUT') continue;
    const node = key.slice(key.indexOf('.') + 1);
    for (const s of entry.json<PresenceRecord>().sessions) holders.push({ node, ...s });
  }
  const consumer = await ctx.js.consumers.get(ROOM_STREAM, { filter_subjects: roomSubject(room), deliver_policy: DeliverPolicy.All });
  const held = (await consumer.info()).num_pending;
  let epoch: string | undefined;
  let seq = 0;
  const recent: SequencerStart['recent'] = [];
  if (held > 0) {
    const messages = await consumer.fetch({ max_messages: held, expires: 5000 });
    let read = 0;
    for await (const m of messages) {
      const batch = m.json<StoredBatch>();
      if (batch.epoch !== epoch) recent.length = 0;
      epoch = batch.epoch;
      for (const event of batch.events) {
        seq = seqOf(event);
        if (event.kind === 'message' && event.message.clientMsgId !== '') recent.push({ userId: event.message.userId, clientMsgId: event.message.clientMsgId, seq });
      }
      if (++read >= held) break;
    }
  }
  await consumer.delete().catch(() => {});
  return { epoch: epoch ?? randomBytes(6).toString('base64url'), seq, holders, recent };
}

/** A node's sessions in a room, as its presence record holds them. */
export interface PresenceRecord {
  sessions: Array<{ session: string; userId: string; displayName: string }>;
}
