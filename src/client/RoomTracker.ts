import type { JoinAck } from '../../gen/chat/v1/chat.js';
import type { JoinOptions } from './ChatSession.js';

/**
 * What a ChatConnection remembers of a room it was asked to be in, so that a
 * rejoin after a reconnect resumes where it left off (after_seq/epoch) and every
 * room event is passed on once, whatever the server replays.
 */
export class RoomTracker {
  /** Newest room seq passed on (events at or below it are duplicates). */
  lastSeq = 0;
  /** The room life lastSeq belongs to ('' before the first JoinAck). */
  epoch = '';
  /** JoinAck seen on the current stream. */
  acked = false;
  /** After a rejoin: the ack's last_seq, until the replay up to it is through. */
  replayUntil?: number;
  /** The last rejoin found a new life of the room (its seq started over). */
  restarted = false;
  /** The last rejoin's JoinAck said its replay holds everything missed. */
  recovered = true;
  /** Messages the current replay brought back. */
  restored = 0;

  constructor(
    /** Sends not yet seen come back from the server, by client_msg_id (kept by PendingSends). */
    readonly pending: ReadonlyMap<string, string>,
  ) {}

  /** Joined on this stream and its replay is through: sends may go out. */
  get ready(): boolean {
    return this.acked && this.replayUntil === undefined;
  }

  /** A new stream: not joined on it yet; returns what its join asks for (a resume once there was an ack). */
  rejoin(history: number): JoinOptions {
    this.acked = false;
    return this.epoch !== '' ? { afterSeq: this.lastSeq, epoch: this.epoch } : { history };
  }

  /** Takes the room's JoinAck; true when it answers a rejoin (a replay follows: see startReplay). */
  ack(ack: Pick<JoinAck, 'epoch' | 'lastSeq' | 'recovered'>): boolean {
    const rejoin = this.epoch !== '';
    // A new life of the room starts its seq over: what it replays is all new.
    this.restarted = rejoin && ack.epoch !== this.epoch;
    this.recovered = ack.recovered;
    if (this.restarted) this.lastSeq = 0;
    if (!rejoin) this.lastSeq = ack.lastSeq;
    this.epoch = ack.epoch;
    this.acked = true;
    return rejoin;
  }

  /** Waits for the rejoin's replay up to `until` (the ack's last_seq); true when nothing is left to replay. */
  startReplay(until: number): boolean {
    this.replayUntil = until;
    this.restored = 0;
    return this.lastSeq >= until;
  }

  /**
   * MISSED_EVENTS during a replay: true when everything up to the ack's last_seq
   * was lost (a server that holds no events replays nothing), so that no replayed
   * event would end the replay.
   */
  missedRest(missed: number): boolean {
    return this.replayUntil !== undefined && missed > 0 && this.lastSeq + missed >= this.replayUntil;
  }

  /** The event with this seq was passed on already, before a reconnect. */
  seen(seq: number): boolean {
    return seq <= this.lastSeq;
  }

  /** An event past the replay's end came: the replay is through (call before pass). */
  passesReplay(seq: number): boolean {
    return this.replayUntil !== undefined && seq > this.replayUntil;
  }

  /** Records the event with this seq as passed on; a message counts as restored during a replay. */
  pass(seq: number, isMessage: boolean): void {
    this.lastSeq = seq;
    if (isMessage && this.replayUntil !== undefined) this.restored += 1;
  }

  /** The replay has reached the ack's last_seq. */
  get replayDone(): boolean {
    return this.replayUntil !== undefined && this.lastSeq >= this.replayUntil;
  }

  /** Ends the replay; returns what the 'resumed' event says of it. */
  endReplay(): { restored: number; complete: boolean } {
    this.replayUntil = undefined;
    return { restored: this.restored, complete: this.recovered };
  }
}
