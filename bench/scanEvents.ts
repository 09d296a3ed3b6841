/**
 * A minimal reader of ServerEvent bytes for the load workers: it pulls out only
 * what the bench measures (kind, room seq, content, notice type) without building
 * objects, so the workers spend their CPU on receiving, not decoding.
 * Field numbers are chat.v1's (proto/chat/v1/chat.proto).
 */

/** What one event says, as far as the bench cares. */
export interface ScannedEvent {
  /** 1 joined (JoinAck), 2 broadcast, 3 notice. */
  kind: number;
  /** ChatPayload.seq, ServerNotice.seq or JoinAck.last_seq. */
  seq: number;
  /** ChatPayload.content (only for broadcasts). */
  content: string;
  /** ServerNotice.type (only for notices). */
  noticeType: number;
  /** ServerNotice.code (only for notices). */
  code: string;
  /** ServerNotice.user_id (only for notices). */
  userId: string;
  /** How many members a JoinAck lists. */
  members: number;
}

function varint(buf: Uint8Array, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos.i++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
    shift += 7;
  }
}

function skip(buf: Uint8Array, pos: { i: number }, wireType: number): void {
  if (wireType === 0) varint(buf, pos);
  else if (wireType === 2) {
    const length = varint(buf, pos); // read first: `pos.i += varint(...)` would lose its advance
    pos.i += length;
  }
  else if (wireType === 1) pos.i += 8;
  else if (wireType === 5) pos.i += 4;
  else throw new Error(`unsupported wire type ${wireType}`);
}

const decoder = new TextDecoder();

/** Calls `onEvent` for each event in a ServerEvent (several when it is a batch). */
export function scanServerEvent(buf: Uint8Array, onEvent: (event: ScannedEvent) => void): void {
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const tag = varint(buf, pos);
    const field = tag >>> 3;
    if ((tag & 7) !== 2) {
      skip(buf, pos, tag & 7);
      continue;
    }
    const len = varint(buf, pos);
    const end = pos.i + len;
    if (field === 4) {
      // EventBatch { repeated ServerEvent events = 1; }
      const inner = { i: pos.i };
      while (inner.i < end) {
        const t = varint(buf, inner);
        const l = varint(buf, inner);
        if (t >>> 3 === 1) scanServerEvent(buf.subarray(inner.i, inner.i + l), onEvent);
        inner.i += l;
      }
    } else if (field >= 1 && field <= 3) {
      onEvent(scanInner(buf, pos.i, end, field));
    }
    pos.i = end;
  }
}

function scanInner(buf: Uint8Array, start: number, end: number, kind: number): ScannedEvent {
  const event: ScannedEvent = { kind, seq: 0, content: '', noticeType: 0, code: '', userId: '', members: 0 };
  const pos = { i: start };
  while (pos.i < end) {
    const tag = varint(buf, pos);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (kind === 2 && field === 3 && wire === 2) {
      const len = varint(buf, pos);
      event.content = decoder.decode(buf.subarray(pos.i, pos.i + len));
      pos.i += len;
    } else if (kind === 2 && field === 5 && wire === 0) event.seq = varint(buf, pos);
    else if (kind === 1 && field === 6 && wire === 0) event.seq = varint(buf, pos);
    else if (kind === 1 && field === 4 && wire === 2) {
      event.members += 1;
      skip(buf, pos, wire);
    }
    else if (kind === 3 && field === 1 && wire === 0) event.noticeType = varint(buf, pos);
    else if (kind === 3 && field === 5 && wire === 0) event.seq = varint(buf, pos);
    else if (kind === 3 && (field === 7 || field === 3) && wire === 2) {
      const len = varint(buf, pos);
      const text = decoder.decode(buf.subarray(pos.i, pos.i + len));
      if (field === 7) event.code = text;
      else event.userId = text;
      pos.i += len;
    } else skip(buf, pos, wire);
  }
  return event;
}
