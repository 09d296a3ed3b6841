import { ClientError, Status } from 'nice-grpc';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import type { ChatSession } from '../../src/client/ChatSession.js';
import { waitFor } from './waitFor.js';

/** How a stream ended: OK, or the status code and details it ended with. */
export interface StreamEnd {
  code: Status;
  details: string;
}

/**
 * Reads a session in the background and keeps every event, so a test can wait
 * for what it expects (with a deadline) instead of sleeping.
 */
export class EventLog {
  readonly events: ChatEvent[] = [];
  end: StreamEnd | undefined;
  readonly ended: Promise<StreamEnd>;

  constructor(readonly session: ChatSession) {
    this.ended = (async () => {
      try {
        for await (const event of session) this.events.push(event);
        this.end = { code: Status.OK, details: '' };
      } catch (error) {
        this.end =
          error instanceof ClientError
            ? { code: error.code, details: error.details }
            : { code: Status.UNKNOWN, details: String(error) };
      }
      return this.end;
    })();
  }

  /** Events of one type (and room, if given). */
  of<T extends ChatEvent['type']>(type: T, room?: string): Array<ChatEvent & { type: T }> {
    return this.events.filter(
      (e): e is ChatEvent & { type: T } => e.type === type && (room === undefined || e.room === room),
    );
  }

  /** Chat message contents seen in a room, in arrival order. */
  contents(room: string): string[] {
    return this.of('message', room).map((e) => e.message.content);
  }

  /** Waits for the first event matching `predicate`, then returns it. */
  waitFor(predicate: (event: ChatEvent) => boolean, what = 'event', timeoutMs = 5000): Promise<ChatEvent> {
    return waitFor(() => this.events.find(predicate), { timeoutMs, what });
  }

  /** Waits until `count` events match `predicate`. */
  async waitForCount(predicate: (event: ChatEvent) => boolean, count: number, what = 'events', timeoutMs = 10000) {
    await waitFor(() => this.events.filter(predicate).length >= count, {
      timeoutMs,
      what: `${count} ${what} (have ${this.events.filter(predicate).length})`,
    });
  }

  /** Waits for the JoinAck of a room. */
  async joined(room: string, timeoutMs = 5000) {
    const event = await this.waitFor((e) => e.type === 'joined' && e.room === room, `JoinAck of #${room}`, timeoutMs);
    return (event as Extract<ChatEvent, { type: 'joined' }>).ack;
  }

  /** Waits for a TYPE_ERROR notice with this code. */
  async error(code: string, timeoutMs = 5000) {
    const event = await this.waitFor((e) => e.type === 'error' && e.notice.code === code, `error ${code}`, timeoutMs);
    return (event as Extract<ChatEvent, { type: 'error' }>).notice;
  }

  /** Waits for the stream to end, at most `timeoutMs`. */
  async waitEnd(timeoutMs = 5000): Promise<StreamEnd> {
    return waitFor(() => this.end, { timeoutMs, what: 'stream end' });
  }
}
