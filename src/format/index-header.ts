/**
 * The 4096-byte header shared by `.fidx` and `.didx` files: magic, uuid, ctime, index_csum at
 * fixed offsets, then format-specific fields and zero padding. Internal to the index codecs.
 */
import { createHash, randomUUID } from 'node:crypto'

import { CorruptionError, ValidationError } from '../errors.js'
import { readI64, writeI64 } from './bytes.js'
import { hasMagic } from './magic.js'

/** Header length of both index formats. */
export const INDEX_HEADER_SIZE = 4096

/** Fields common to both index headers. */
export interface IndexHeaderFields {
  /** 16 bytes identifying this index file (random at creation). */
  uuid: Buffer
  /** Creation time, epoch seconds. */
  ctime: number
  /** SHA256 over the entries as stored in the header. */
  indexCsum: Buffer
}

/** Options shared by the index builders; defaults are a random uuid and the current time. */
export interface IndexBuilderOptions {
  /** 16 bytes; random v4 UUID when omitted. */
  uuid?: Uint8Array
  /** Epoch seconds; now when omitted. */
  ctime?: number
}

/** Reads and checks magic, uuid, ctime and csum; `what` names the format in messages. */
export function parseIndexHeader(buf: Buffer, magic: Buffer, what: string): IndexHeaderFields {
  if (buf.length < INDEX_HEADER_SIZE) {
    throw new CorruptionError(
      `unable to parse ${what} - truncated header (${buf.length} of ${INDEX_HEADER_SIZE} bytes)`,
      {
        size: buf.length,
      },
    )
  }
  if (!hasMagic(buf, magic)) {
    throw new CorruptionError(`unable to parse ${what} - wrong magic`, {
      magic: buf.subarray(0, 8).toString('hex'),
    })
  }
  const ctime = readI64(buf, 24)
  if (ctime === undefined) {
    throw new CorruptionError(`unable to parse ${what} - ctime out of range`)
  }
  return {
    uuid: Buffer.from(buf.subarray(8, 24)),
    ctime,
    indexCsum: Buffer.from(buf.subarray(32, 64)),
  }
}

/** Resolves builder options to concrete uuid and ctime, validating them. */
function resolveHeaderOptions(options: IndexBuilderOptions): { uuid: Buffer; ctime: number } {
  const uuid =
    options.uuid === undefined
      ? Buffer.from(randomUUID().replace(/-/g, ''), 'hex')
      : Buffer.from(options.uuid)
  if (uuid.length !== 16) throw new ValidationError('index uuid', `${uuid.length} bytes`, 'must be 16 bytes')
  const ctime = options.ctime ?? Math.floor(Date.now() / 1000)
  if (!Number.isSafeInteger(ctime)) throw new ValidationError('index ctime', ctime, 'must be an integer')
  return { uuid, ctime }
}

/** index_csum of both formats: SHA256 over the entry area exactly as stored. */
export function entriesCsum(entries: Uint8Array): Buffer {
  return createHash('sha256').update(entries).digest()
}

/**
 * File bytes of an index: the header (magic, uuid, ctime, index_csum of `entries`, then whatever
 * `writeFields` puts at offset 64, zeros elsewhere) followed by the entries.
 * @throws ValidationError for a bad uuid or ctime in `options`
 */
export function encodeIndexFile(
  magic: Buffer,
  options: IndexBuilderOptions,
  entries: Buffer,
  writeFields?: (header: Buffer) => void,
): Buffer {
  const { uuid, ctime } = resolveHeaderOptions(options)
  const out = Buffer.alloc(INDEX_HEADER_SIZE + entries.length)
  magic.copy(out, 0)
  uuid.copy(out, 8)
  writeI64(out, ctime, 24)
  entriesCsum(entries).copy(out, 32)
  writeFields?.(out)
  entries.copy(out, INDEX_HEADER_SIZE)
  return out
}

/** Checks a digest argument. */
export function checkDigest(digest: Uint8Array): void {
  if (digest.length !== 32)
    throw new ValidationError('chunk digest', `${digest.length} bytes`, 'must be 32 bytes')
}
