/**
 * A minimal reader of ServerEvent bytes for the load workers: it pulls out only
 * what the bench measures (kind, room seq, notice type, member count, and the
 * numbers a bench message carries at the start of its content) without building
 * objects or decoding strings, so the workers spend their CPU on receiving, not
 * decoding. Field numbers are chat.v1's (proto/chat/v1/chat.proto).
 */

/** What one event says, as far as the bench cares. One object, reused: copy what you keep. */
export interface ScannedEvent {
  /** 1 joined (JoinAck), 2 broadcast, 3 notice. */
  kind: number;
  /** ChatPayload.seq, ServerNotice.seq or JoinAck.last_seq. */
  seq: number;
  /** ServerNotice.type (only for notices). */
  noticeType: number;
  /** How many members a JoinAck lists. */
  members: number;
  /** A bench message's content starts "sender:index:sentMicros:": those three numbers. */
  sender: number;
  index: number;
  sentUs: number;
}

const event: ScannedEvent = { kind: 0, seq: 0, noticeType: 0, members: 0, sender: 0, index: 0, sentUs: 0 };
let at = 0;

function varint(buf: Uint8Array): number {
  // Most varints here (tags, lengths, small numbers) are one byte.
  let byte = buf[at++]!;
  if (byte < 0x80) return byte;
  let result = byte & 0x7f;
  for (let scale = 128; ; scale *= 128) {
    byte = buf[at++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
  }
}

function skip(buf: Uint8Array, wireType: number): void {
  if (wireType === 0) varint(buf);
  else if (wireType === 2) {
    const length = varint(buf); // read first: `at += varint(buf)` would lose its advance
    at += length;
  } else if (wireType === 1) at += 8;
  else if (wireType === 5) at += 4;
  else throw new Error(`unsupported wire type ${wireType}`);
}

/** Reads "a:b:c:" (ASCII digits) at `at` into sender, index, sentUs. */
function benchNumbers(buf: Uint8Array, end: number): void {
  const numbers = [0, 0, 0];
  let n = 0;
  for (let i = at; i < end && n < 3; i++) {
    const c = buf[i]!;
    if (c === 58 /* : */) n += 1;
    else numbers[n] = numbers[n]! * 10 + (c - 48);
  }
  [event.sender, event.index, event.sentUs] = numbers as [number, number, number];
}

/** Calls `onEvent` for each event in a ServerEvent (several when it is a batch). */
export function scanServerEvent(buf: Uint8Array, onEvent: (event: ScannedEvent) => void): void {
  at = 0;
  scanEvents(buf, buf.length, onEvent);
}

function scanEvents(buf: Uint8Array, end: number, onEvent: (event: ScannedEvent) => void): void {
  while (at < end) {
    const tag = varint(buf);
    if ((tag & 7) !== 2) {
      skip(buf, tag & 7);
      continue;
    }
    const field = tag >>> 3;
    const length = varint(buf);
    const stop = at + length;
    if (field === 4) {
      // EventBatch { repeated ServerEvent events = 1; }
      while (at < stop) {
        const t = varint(buf);
        const l = varint(buf);
        if (t >>> 3 === 1) scanEvents(buf, at + l, onEvent);
        else at += l;
      }
    } else if (field >= 1 && field <= 3) {
      scanInner(buf, stop, field);
      onEvent(event);
    }
    at = stop;
  }
}

function scanInner(buf: Uint8Array, end: number, kind: number): void {
  event.kind = kind;
  event.seq = event.noticeType = event.members = event.sender = event.index = event.sentUs = 0;
  while (at < end) {
    const tag = varint(buf);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (kind === 2 && field === 3 && wire === 2) {
      const length = varint(buf);
      benchNumbers(buf, at + length);
      at += length;
    } else if (wire === 0 && ((kind === 2 && field === 5) || (kind === 1 && field === 6) || (kind === 3 && field === 5))) {
      event.seq = varint(buf);
    } else if (kind === 3 && field === 1 && wire === 0) event.noticeType = varint(buf);
    else {
      if (kind === 1 && field === 4) event.members += 1;
      skip(buf, wire);
    }
  }
}
