import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, StorageType } from '@nats-io/jetstream';

import { type KV, Kvm } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { Backplane } from '../../domain/Backplane.js';
import { RoomUnavailableError, NotJoinedError } from '../../domain/errors.js';
import type { JoinCommand, PublishCommand } from '../../domain/Hub.js';
import type { Room } from '../../domain/Room.js';
import type { JoinView } from '../../domain/RoomSequencer.js';
import type { Session } from '../../domain/Session.js';
import { commandSubject, NODES_BUCKET, OWNERS_BUCKET, PRESENCE_BUCKET, presenceKey, ROOM_STREAM } from './natsNames.js';
import { RoomFollower } from './RoomFollower.js';
import { type OwnerContext, type PresenceRecord, RoomOwner } from './RoomOwner.js';
import type { Command, Reply } from './wire.js';

export interface NatsBackplaneOptions {
  /** NATS server URLs (any of the cluster's). */
  servers: string[];
  /** Replicas of the stream and buckets: 1 for one NATS server, 3 for a cluster of three or more. */
  replicas: number;
  /** Events each room's subject holds (the stream's history per subject). */
  historyEvents: number;
  /** How long a node's heartbeat, and a room owner's lease, last unrenewed. At least 15 s: a NATS leader failover stalls writes for ~5 s. */
  ttlMs: number;
  log: Logger;
}

/** Most commands one request to a room's owner carries. */
const MAX_COMMANDS_PER_REQUEST = 256;

/** Longest a command waits for a room's owner, taking the room over included: past two leases, so a dead owner's lease has expired. */
const commandDeadlineMs = (ttlMs: number) => 2 * ttlMs + 5000;

/**
 * The NATS JetStream backplane (docs/scale-out.md): every room has one owner
 * node (RoomOwner, by a KV lease) that sequences it and appends its events to
 * the room's subject of one stream; every node with members in a room follows
 * that subject (RoomFollower) and fans out locally. A node forwards its
 * sessions' joins, leaves and publishes to the owner by request/reply, and
 * takes the room over itself when nobody answers and the lease is free.
 * Nodes heartbeat in a KV bucket; an owner removes the sessions of nodes whose
 * heartbeat expired.
 */
export class NatsBackplane implements Backplane {
  /** This process, as other nodes see it: a KV-safe id. */
  readonly node = `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly owned = new Map<string, RoomOwner>();
  private readonly followers = new Map<Room, Promise<RoomFollower>>();
  /** This node's sessions per room, as its presence records hold them. */
  private readonly local = new Map<string, Map<string, PresenceRecord['sessions'][number]>>();
  /** Commands waiting to go to each room's owner, in order (see ask). */
  private readonly outbox = new Map<string, Array<{ command: Command; answer: (reply: Reply) => void; fail: (error: unknown) => void }>>();
  private readonly sending = new Map<string, Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly owners: KV,
    private readonly nodes: KV,
    private readonly presence: KV,
    private readonly options: NatsBackplaneOptions,
  ) {}

  static async start(options: NatsBackplaneOptions): Promise<NatsBackplane> {
    // No async stack traces: nats.js otherwise builds two Error objects per request, a tenth of the backplane's CPU in the bench.
    const nc = await connect({ servers: options.servers, name: 'chat-grpc', maxReconnectAttempts: -1, noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    const config = {
      name: ROOM_STREAM,
      subjects: ['chat.room.>'],
      max_msgs_per_subject: options.historyEvents,
      discard: DiscardPolicy.Old,
      storage: StorageType.File,
      num_replicas: options.replicas,
      duplicate_window: nanos(120_000),
    };
    await jsm.streams.add(config).catch(async () => jsm.streams.update(ROOM_STREAM, config));
    const kvm = new Kvm(nc);
    const bucket = (name: string, ttl?: number) => kvm.create(name, { replicas: options.replicas, history: 1, ...(ttl === undefined ? {} : { ttl }) });
    const backplane = new NatsBackplane(nc, jetstream(nc), jsm, await bucket(OWNERS_BUCKET, options.ttlMs), await bucket(NODES_BUCKET, options.ttlMs), await bucket(PRESENCE_BUCKET), options);
    await backplane.beat();
    backplane.heartbeat = setInterval(() => void backplane.beat(), options.ttlMs / 5).unref();
    options.log.info({ event: 'backplane_ready', node: backplane.node, servers: options.servers, replicas: options.replicas });
    return backplane;
  }

  async join(session: Session, room: Room, cmd: JoinCommand): Promise<JoinView> {
    const follower = await this.follow(room);
    const reply = await this.ask(room.name, { op: 'join', node: this.node, session: String(session.id), userId: session.userId, displayName: session.displayName });
    if (!reply.ok || reply.view === undefined) throw new RoomUnavailableError(`#${cmd.room}: ${reply.ok ? 'no answer from its owner' : reply.message}`);
    this.record(room.name, session, true);
    await follower.caughtUp(reply.view.lastSeq, reply.view.epoch);
    return reply.view;
  }

  async publish(session: Session, room: Room, cmd: PublishCommand): Promise<number> {
    const reply = await this.ask(cmd.room, { op: 'publish', node: this.node, userId: session.userId, displayName: session.displayName, content: cmd.content, clientMsgId: cmd.clientMsgId, traceContext: cmd.traceContext });
    if (!reply.ok) {
      if (reply.code === 'NOT_JOINED') throw new NotJoinedError(`not in #${cmd.room}`, cmd.room, cmd.clientMsgId);
      throw new RoomUnavailableError(`#${cmd.room}: ${reply.message}`);
    }
    const seq = reply.seq ?? 0;
    // Its sender's own copy is queued once this node applied it; a room released meanwhile has nobody to queue it to.
    const follower = this.followers.get(room);
    if (follower !== undefined) await (await follower).caughtUp(seq);
    return seq;
  }

  async leave(session: Session, room: Room): Promise<number | undefined> {
    this.record(room.name, session, false);
    const reply = await this.ask(room.name, { op: 'leave', node: this.node, session: String(session.id), userId: session.userId });
    return reply.ok ? reply.seq : undefined;
  }

  release(room: Room): void {
    const follower = this.followers.get(room);
    this.followers.delete(room);
    void follower?.then((f) => f.stop());
  }

  /** Gives back the rooms this node owns and its heartbeat, then closes the connection (after drain, when every session has left). */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.sending.values()]);
    this.closed = true;
    clearInterval(this.heartbeat);
    await Promise.allSettled([...this.owned.values()].map((o) => o.stop()));
    for (const follower of this.followers.values()) void follower.then((f) => f.stop());
    await this.nodes.delete(this.node).catch(() => {});
    await this.nc.drain().catch(() => {});
  }

  private follow(room: Room): Promise<RoomFollower> {
    let follower = this.followers.get(room);
    if (follower === undefined) {
      follower = RoomFollower.start(this.js, room, this.options.log);
      this.followers.set(room, follower);
      follower.catch(() => this.followers.delete(room));
    }
    return follower;
  }

  /**
   * Queues a command for the room's owner; resolves with its answer. A node
   * has one request in flight per room, carrying every command queued since
   * the last (so a stream's publishes need not wait for one another, and a
   * room's commands from this node reach the owner in the order they came, a
   * retried batch before anything after it).
   */
  private ask(room: string, command: Command): Promise<Reply> {
    return new Promise((answer, fail) => {
      let queued = this.outbox.get(room);
      if (queued === undefined) this.outbox.set(room, (queued = []));
      queued.push({ command, answer, fail });
      if (!this.sending.has(room)) this.sending.set(room, this.send(room).finally(() => this.sending.delete(room)));
    });
  }

  private async send(room: string): Promise<void> {
    for (let queued = this.outbox.get(room); queued !== undefined && queued.length > 0; queued = this.outbox.get(room)) {
      const batch = queued.splice(0, MAX_COMMANDS_PER_REQUEST);
      if (queued.length === 0) this.outbox.delete(room);
      try {
        const replies = await this.askOwner(room, batch.map((b) => b.command));
        batch.forEach((b, i) => b.answer(replies[i]!));
      } catch (error) {
        for (const b of batch) b.fail(error);
      }
    }
  }

  /**
   * Has the room's owner apply the commands: directly when it is this node,
   * else by request/reply. Nobody answering means nobody owns the room: this
   * node tries to take it (which fails while a dead owner's lease lasts), and
   * asks again until the deadline; so does an owner that could not store them.
   */
  private async askOwner(room: string, commands: Command[]): Promise<Reply[]> {
    const deadline = Date.now() + commandDeadlineMs(this.options.ttlMs);
    const body = JSON.stringify(commands);
    for (let wait = 50; ; wait = Math.min(1000, wait * 2)) {
      try {
        const local = this.owned.get(room);
        const replies = local !== undefined ? await local.handle(commands) : (await this.nc.request(commandSubject(room), body, { timeout: 5000 })).json<Reply[]>();
        if (!replies.some((r) => !r.ok && r.code === 'UNAVAILABLE')) return replies;
      } catch (error) {
        if (this.closed) break;
        if (isNoResponders(error) && !this.owned.has(room)) {
          const owner = await RoomOwner.take(room, this.ownerContext()).catch((e: unknown) => {
            this.options.log.warn({ event: 'room_take_failed', room, error: String(e) });
            return undefined;
          });
          if (owner !== undefined) {
            this.owned.set(room, owner);
            continue;
          }
        }
      }
      if (this.closed || Date.now() + wait > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    throw new RoomUnavailableError(`#${room}: its owner did not answer within ${commandDeadlineMs(this.options.ttlMs)} ms`);
  }

  private ownerContext(): OwnerContext {
    return {
      node: this.node,
      nc: this.nc,
      js: this.js,
      jsm: this.jsm,
      owners: this.owners,
      nodes: this.nodes,
      presence: this.presence,
      log: this.options.log,
      leaseMs: this.options.ttlMs,
      sweepMs: Math.min(2000, this.options.ttlMs / 5),
      onEnd: (owner) => {
        if (this.owned.get(owner.room) === owner) this.owned.delete(owner.room);
      },
    };
  }

  /** This node's presence record for a room: what a node taking the room over rebuilds its members from. */
  private record(room: string, session: Session, present: boolean): void {
    let sessions = this.local.get(room);
    if (sessions === undefined) this.local.set(room, (sessions = new Map()));
    if (present) sessions.set(String(session.id), { session: String(session.id), userId: session.userId, displayName: session.displayName });
    else sessions.delete(String(session.id));
    const key = presenceKey(room, this.node);
    const write = sessions.size === 0 ? this.presence.delete(key) : this.presence.put(key, JSON.stringify({ sessions: [...sessions.values()] } satisfies PresenceRecord));
    if (sessions.size === 0) this.local.delete(room);
    void write.catch((error: unknown) => this.options.log.warn({ event: 'presence_write_failed', room, error: String(error) }));
  }

  private async beat(): Promise<void> {
    await this.nodes.put(this.node, JSON.stringify({ at: Date.now() })).catch((error: unknown) => this.options.log.warn({ event: 'heartbeat_failed', error: String(error) }));
  }
}

function isNoResponders(error: unknown): boolean {
  return typeof (error as { isNoResponders?: () => boolean })?.isNoResponders === 'function' && (error as { isNoResponders: () => boolean }).isNoResponders();
}
