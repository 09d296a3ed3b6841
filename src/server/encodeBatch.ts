import { isFramed } from './frameMessages.js';

const BATCH_TAG = (4 << 3) | 2; // ServerEvent.batch = 4, length-delimited
const EVENT_TAG = (1 << 3) | 2; // EventBatch.events = 1, length-delimited

/**
 * Packs encoded ServerEvents into one ServerEvent{batch: EventBatch{events}} by
 * concatenation: each frame is already a ServerEvent, so the batch is field 1
 * (length-delimited) per frame, wrapped in field 4 of ServerEvent. A frame that
 * is itself a batch is spliced in flat (its content already is a run of field-1
 * events), so batches never nest. No re-encoding.
 */
export function encodeBatch(frames: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let inner = 0;
  for (const frame of frames) {
    if (frame[0] === BATCH_TAG) {
      const content = frame.subarray(1 + varintSize(readVarint(frame, 1)));
      parts.push(content);
      inner += content.byteLength;
    } else {
      parts.push(frame);
      inner += 1 + varintSize(frame.byteLength) + frame.byteLength;
    }
  }
  // Unpooled: the frame owns its whole ArrayBuffer (see chatWireDefinition).
  const out = Buffer.allocUnsafeSlow(1 + varintSize(inner) + inner);
  let at = 0;
  out[at++] = BATCH_TAG;
  at = writeVarint(out, at, inner);
  for (const [i, part] of parts.entries()) {
    if (frames[i]![0] !== BATCH_TAG) {
      out[at++] = EVENT_TAG;
      at = writeVarint(out, at, part.byteLength);
    }
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** A frame at least this big is written on its own: packing it would only copy it. */
const BIG_FRAME = 8 * 1024;

/**
 * What a stream that takes batches writes for the frames waiting in its queue:
 * runs of small frames packed into one batch each; big frames (large acks) and
 * framed ones (a room's shared batch, already laid out as a gRPC message) passed
 * through as they are.
 */
export function packFrames(frames: Uint8Array[]): Uint8Array[] {
  // The common case when a stream keeps up: one frame, nothing to pack.
  if (frames.length === 1) return frames;
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  const flushRun = () => {
    if (run.length > 0) out.push(run.length === 1 ? run[0]! : encodeBatch(run));
    run = [];
  };
  for (const frame of frames) {
    if (frame.byteLength >= BIG_FRAME || isFramed(frame)) {
      flushRun();
      out.push(frame);
    } else run.push(frame);
  }
  flushRun();
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size += 1;
  }
  return size;
}

function readVarint(buf: Uint8Array, at: number): number {
  let result = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = buf[at++]!;
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
  }
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
