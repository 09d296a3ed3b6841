/** Bytes of a gRPC message header: a compressed flag (0) and a 4-byte big-endian length. */
const HEADER = 5;

/**
 * Whether these bytes are already gRPC-framed messages rather than one encoded
 * ServerEvent. A ServerEvent starts with a field tag, never 0 (field 0 does not
 * exist); a framed run starts with the compressed flag, which we always send as 0.
 */
export function isFramed(bytes: Uint8Array): boolean {
  return bytes.byteLength > 0 && bytes[0] === 0;
}

/**
 * Lays out encoded ServerEvents as consecutive gRPC messages in one buffer, as a
 * client reads them off a stream: each gets its 5-byte header, and parts that are
 * already framed (a room's shared run) are copied as they are. A single framed
 * part is returned as it is, shared, not copied.
 */
export function frameMessages(parts: readonly Uint8Array[]): Buffer {
  if (parts.length === 1 && isFramed(parts[0]!)) return asBuffer(parts[0]!);
  let size = 0;
  for (const part of parts) size += isFramed(part) ? part.byteLength : HEADER + part.byteLength;
  // Unpooled: a run may be shared by many streams for as long as the slowest holds it.
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const part of parts) {
    if (!isFramed(part)) {
      out[at] = 0;
      out.writeUInt32BE(part.byteLength, at + 1);
      at += HEADER;
    }
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * Lays out parts as writes of framed messages, each at most `maxBytes` long (a
 * single part bigger than that goes alone), in order.
 */
export function frameWrites(parts: readonly Uint8Array[], maxBytes: number): Buffer[] {
  const writes: Buffer[] = [];
  let from = 0;
  let size = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const framed = isFramed(part) ? part.byteLength : HEADER + part.byteLength;
    if (i > from && size + framed > maxBytes) {
      writes.push(frameMessages(parts.slice(from, i)));
      from = i;
      size = 0;
    }
    size += framed;
  }
  writes.push(frameMessages(from === 0 ? parts : parts.slice(from)));
  return writes;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
