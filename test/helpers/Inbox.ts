import type { DomainEvent, JoinAckEvent, SequencedEvent } from '../../src/domain/events.js';
import { seqOf } from '../../src/domain/events.js';
import type { Session } from '../../src/domain/Session.js';

/** A simple codec: the Hub only needs bytes, and JSON lets a test read them back. */
export const encode = (event: DomainEvent): Uint8Array => new TextEncoder().encode(JSON.stringify(event));
export const decode = (frame: Uint8Array): DomainEvent => JSON.parse(new TextDecoder().decode(frame)) as DomainEvent;

export const isSequenced = (e: DomainEvent): e is SequencedEvent =>
  e.kind === 'message' || e.kind === 'user_joined' || e.kind === 'user_left';
export const roomOf = (e: DomainEvent): string => (e.kind === 'message' ? e.message.room : e.room);

/**
 * Reads one session's queue as the adapter would, but only on demand: `take()`
 * returns what is queued now, so a test decides which members keep up.
 */
export class Inbox {
  readonly events: DomainEvent[] = [];
  private iterator: AsyncIterator<Uint8Array> | undefined;

  constructor(readonly session: Session) {}

  /** Takes every event queued right now. */
  async take(): Promise<DomainEvent[]> {
    const taken: DomainEvent[] = [];
    while (this.session.queue.length > 0) {
      const next = await this.iter().next();
      if (next.done) break;
      taken.push(decode(next.value));
    }
    this.events.push(...taken);
    return taken;
  }

  /** Reads an ended queue to its end: the error it ended with, or undefined if it ended cleanly. */
  async end(): Promise<unknown> {
    if (!this.session.queue.closed) throw new Error(`session ${this.session.id}'s queue has not ended`);
    try {
      for (;;) {
        const next = await this.iter().next();
        if (next.done) return undefined;
        this.events.push(decode(next.value));
      }
    } catch (error) {
      return error;
    }
  }

  /** Seqs of the room events taken so far, in arrival order. */
  seqs(room?: string): number[] {
    return this.events.filter(isSequenced).filter((e) => room === undefined || roomOf(e) === room).map(seqOf);
  }

  /** The JoinAcks taken so far. */
  acks(room?: string): JoinAckEvent[] {
    return this.events.filter((e): e is JoinAckEvent => e.kind === 'ack' && (room === undefined || e.room === room));
  }

  /** Compact view of what was taken: 'kind:user:seq' per event. */
  summary(): string[] {
    return this.events.map((e) => {
      if (e.kind === 'message') return `message:${e.message.userId}:${e.message.seq}`;
      if (isSequenced(e)) return `${e.kind}:${e.userId}:${e.seq}`;
      if (e.kind === 'ack') return `ack:${e.userId}:${e.lastSeq}`;
      if (e.kind === 'session_left') return `session_left:${e.userId}`;
      return `${e.kind}:${e.code}`;
    });
  }

  private iter(): AsyncIterator<Uint8Array> {
    return (this.iterator ??= this.session.queue[Symbol.asyncIterator]());
  }
}

