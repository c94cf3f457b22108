/** Small byte helpers shared by the codecs (internal; not re-exported). */

/** A Buffer view of `bytes` without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * Reads a u64 LE as a number, or undefined when it exceeds 2^53 - 1.
 * Two u32 reads are much cheaper than BigInt in hot loops.
 */
export function readU64(buf: Buffer, offset: number): number | undefined {
  const lo = buf.readUInt32LE(offset)
  const hi = buf.readUInt32LE(offset + 4)
  if (hi >= 0x200000) return undefined
  return hi * 0x100000000 + lo
}

/** Writes a non-negative safe integer as u64 LE. */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32LE(value % 0x100000000, offset)
  buf.writeUInt32LE(Math.floor(value / 0x100000000), offset + 4)
}

/** Writes a safe integer (possibly negative) as i64 LE. */
export function writeI64(buf: Buffer, value: number, offset: number): void {
  buf.writeBigInt64LE(BigInt(value), offset)
}

/** Reads an i64 LE as a number, or undefined outside the safe-integer range. */
export function readI64(buf: Buffer, offset: number): number | undefined {
  const v = buf.readBigInt64LE(offset)
  return v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? undefined : Number(v)
}
