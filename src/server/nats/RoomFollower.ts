import { type ConsumerMessages, DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Room } from '../../domain/Room.js';
import { ROOM_STREAM, roomSubject } from './natsNames.js';
import type { StoredBatch } from './wire.js';

/**
 * One node's reading of a room's events: an ordered consumer of the room's
 * subject, from the oldest held event, each applied to this node's Room in
 * the stream's order (Room.apply fans it out to this node's members). The
 * stream keeps one copy per message; every node's own fan-out is local.
 */
export class RoomFollower {
  private waiters: Array<{ seq: number; epoch: string; resolve: () => void }> = [];

  private constructor(
    private readonly room: Room,
    private readonly messages: ConsumerMessages,
    log: Logger,
  ) {
    void this.run(log);
  }

  static async start(js: JetStreamClient, room: Room, log: Logger): Promise<RoomFollower> {
    const consumer = await js.consumers.get(ROOM_STREAM, { filter_subjects: roomSubject(room.name), deliver_policy: DeliverPolicy.All });
    return new RoomFollower(room, await consumer.consume(), log);
  }

  /** Resolves once the room has applied its owner's events up to `seq` of `epoch`. */
  caughtUp(seq: number, epoch: string): Promise<void> {
    if (this.reached(seq, epoch)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, epoch, resolve }));
  }

  stop(): void {
    void this.messages.close();
  }

  private async run(log: Logger): Promise<void> {
    try {
      for await (const m of this.messages) {
        const stored = m.json<StoredBatch>();
        for (const event of stored.events) this.room.apply(event, stored.epoch);
        if (this.waiters.length > 0) this.wake();
      }
    } catch (error) {
      log.error({ event: 'room_follow_failed', room: this.room.name, error: String(error) });
    }
  }

  private reached(seq: number, epoch: string): boolean {
    return this.room.epoch === epoch && this.room.summary().lastSeq >= seq;
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
