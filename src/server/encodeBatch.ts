/**
 * Packs encoded ServerEvents into one ServerEvent{batch: EventBatch{events}} by
 * concatenation: each frame is already a ServerEvent, so the batch is field 1
 * (length-delimited) per frame, wrapped in field 4 of ServerEvent. No re-encoding.
 */
export function encodeBatch(frames: Uint8Array[]): Uint8Array {
  let inner = 0;
  for (const frame of frames) inner += 1 + varintSize(frame.byteLength) + frame.byteLength;
  const out = Buffer.allocUnsafe(1 + varintSize(inner) + inner);
  let at = 0;
  out[at++] = (4 << 3) | 2; // ServerEvent.batch = 4, length-delimited
  at = writeVarint(out, at, inner);
  for (const frame of frames) {
    out[at++] = (1 << 3) | 2; // EventBatch.events = 1, length-delimited
    at = writeVarint(out, at, frame.byteLength);
    out.set(frame, at);
    at += frame.byteLength;
  }
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

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
