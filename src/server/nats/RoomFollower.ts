import { type ConsumerMessages, DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { RoomUnavailableError } from '../../domain/errors.js';
import type { Room } from '../../domain/Room.js';
import { ROOM_STREAM, roomSubject } from './natsNames.js';
import type { StoredBatch } from './wire.js';

/** How long each pull of a follower waits for messages; the server's heartbeats come every half of it. */
const FOLLOW_EXPIRES_MS = 5000;
/** Heartbeats missed in a row after which a follower's consumer is taken for dead. */
const MISSED_HEARTBEATS = 2;
/** How long someone may wait for stored events with none arriving before the consumer is taken for stuck. */
const STALL_MS = 5000;
/** What the client reports when its consumer (or the way to it) is gone: made again at once. */
const GONE = new Set(['consumer_not_found', 'consumer_deleted', 'stream_not_found', 'no_responders']);
/** Wait between attempts to make a follower's consumer again. */
const REOPEN_MS = 500;

/**
 * One node's reading of a room's events: an ordered consumer of the room's
 * subject, from the oldest held event, each applied to this node's Room in
 * the stream's order (Room.apply fans it out to this node's members). The
 * stream keeps one copy per message; every node's own fan-out is local.
 *
 * An ordered consumer lives on the stream's leader alone: when that node dies,
 * its pulls go unanswered and the client only reports missed heartbeats, so
 * after two of them the follower makes a new consumer, from the stream
 * sequence after the last one applied.
 */
export class RoomFollower {
  private waiters: Array<{ seq: number; epoch: string; resolve: () => void }> = [];
  private messages: ConsumerMessages | undefined;
  /** The stream sequence of the last message applied: where a new consumer starts. */
  private streamSeq = 0;
  private stopped = false;
  /** Messages read so far, and the timer that checks they keep coming while someone waits (checkWaiters). */
  private received = 0;
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly room: Room,
    private readonly log: Logger,
  ) {}

  static async start(js: JetStreamClient, room: Room, log: Logger): Promise<RoomFollower> {
    const follower = new RoomFollower(js, room, log);
    await follower.open();
    return follower;
  }

  /** Resolves once the room has applied its owner's events up to `seq` of `epoch` (by default the one it is in). */
  caughtUp(seq: number, epoch = this.room.epoch): Promise<void> {
    if (this.reached(seq, epoch)) return Promise.resolve();
    if (this.stopped) return Promise.reject(new RoomUnavailableError(`#${this.room.name}: this node no longer follows the room's events`));
    this.watchdog ??= setTimeout(() => this.checkWaiters(this.received), STALL_MS).unref();
    return new Promise((resolve) => this.waiters.push({ seq, epoch, resolve }));
  }

  /**
   * Someone waits for events the owner has stored: if none came since `before`,
   * the consumer is stuck in a way the client does not report, so it is made again.
   */
  private checkWaiters(before: number): void {
    this.watchdog = undefined;
    if (this.waiters.length === 0 || this.stopped) return;
    if (this.received === before && this.messages !== undefined) void this.reopen(this.messages, 'no events while some were awaited');
    this.watchdog = setTimeout(() => this.checkWaiters(this.received), STALL_MS).unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.watchdog);
    void this.messages?.close();
    // Nobody will apply more of the room here: whoever waits for it goes on.
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.resolve();
  }

  private async open(): Promise<void> {
    const from = this.streamSeq === 0 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.streamSeq + 1 };
    const consumer = await this.js.consumers.get(ROOM_STREAM, { filter_subjects: roomSubject(this.room.name), ...from });
    const messages = await consumer.consume({ expires: FOLLOW_EXPIRES_MS });
    // Stopped while the consumer was being made: nobody else would close it.
    if (this.stopped) return void messages.close();
    this.messages = messages;
    void this.read(messages);
    void this.watch(messages);
  }

  private async read(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        this.received += 1;
        this.streamSeq = m.seq;
        const stored = m.json<StoredBatch>();
        for (const event of stored.events) this.room.apply(event, stored.epoch);
        if (this.waiters.length > 0) this.wake();
      }
    } catch (error) {
      // The consumer failed, or a stored message cannot be read (it is skipped: the new consumer starts after it).
      this.log.error({ event: 'room_follow_failed', room: this.room.name, error: String(error) });
    }
    void this.reopen(messages, 'the consumer ended');
  }

  private async watch(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type === 'heartbeats_missed' && status.count >= MISSED_HEARTBEATS) return this.reopen(messages, 'heartbeats missed');
      // During a failover the client may keep asking a consumer that is gone, without missing heartbeats.
      if (GONE.has(status.type)) return this.reopen(messages, status.type);
    }
  }

  /** Makes the consumer again after `messages` ended or went quiet (once, whoever notices first), retrying until it is made or the follower stops. */
  private async reopen(messages: ConsumerMessages, why: string): Promise<void> {
    if (this.stopped || this.messages !== messages) return;
    this.messages = undefined;
    this.log.warn({ event: 'room_follow_reopen', room: this.room.name, afterStreamSeq: this.streamSeq, why });
    await messages.close().catch(() => {});
    while (!this.stopped) {
      try {
        await this.open();
        return;
      } catch (error) {
        this.log.warn({ event: 'room_follow_reopen_failed', room: this.room.name, error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, REOPEN_MS));
      }
    }
  }

  private reached(seq: number, epoch: string): boolean {
    return this.room.epoch === epoch && this.room.lastSeq >= seq;
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (this.reached(w.seq, w.epoch)) w.resolve();
      else this.waiters.push(w);
    }
  }
}
