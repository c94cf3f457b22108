/**
 * Where archive bytes come from: a file (positional reads with one read ahead, so disk I/O
 * overlaps hashing), stdin or any stream (size unknown), or a Buffer. Every chunk handed out
 * lives in its own non-pooled ArrayBuffer, so it can be transferred to a worker thread.
 */
import type { FileHandle } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import type { Readable } from 'node:stream'

import { NotFoundError, StorageError, ValidationError, errorMessage } from '../../errors.js'
import type { Chunker } from '../../format/index.js'
import { isErrno } from '../fs-util.js'

/** What an archive can be read from: a path ('-' = stdin), bytes, or a stream of bytes. */
export type ArchiveInput = string | Uint8Array | Readable | AsyncIterable<Uint8Array>

/** Block size for sequential reads of streams and for dynamic chunking. */
const READ_BLOCK = 4 * 1024 * 1024

/** An opened archive source. */
export interface ArchiveSource {
  /** For messages: the path, `stdin`, `buffer` or `stream`. */
  readonly label: string
  /** Total bytes when known up front (regular files and buffers). */
  readonly size: number | undefined
  /** Consecutive pieces of exactly `chunkSize` bytes, the last one possibly shorter. */
  fixedChunks(chunkSize: number): AsyncIterable<Buffer>
  /** Content-defined chunks cut by `chunker`. */
  dynamicChunks(chunker: Chunker): AsyncIterable<Buffer>
  /** Everything, refusing more than `limit` bytes. */
  readAll(limit: number): Promise<Buffer>
  /** Releases the file handle, if any. */
  close(): Promise<void>
}

/**
 * Opens an archive input; files are opened (and checked to be readable, non-directory) now, so a
 * bad path fails before a backup takes any lock.
 * @throws NotFoundError (missing file), ValidationError (directory), StorageError (unreadable).
 */
export async function openArchiveSource(
  input: ArchiveInput,
  stdin: Readable = process.stdin,
): Promise<ArchiveSource> {
  if (typeof input === 'string') {
    if (input === '-') return new StreamSource('stdin', stdin)
    return FileSource.open(input)
  }
  if (input instanceof Uint8Array) return new BufferSource(input)
  return new StreamSource('stream', input)
}

/** A fresh, non-pooled buffer (transferable). */
function ownBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size)
}

/** Concatenates pieces into one own buffer. */
function concatOwn(pieces: readonly Buffer[], total: number): Buffer {
  const out = ownBuffer(total)
  let at = 0
  for (const p of pieces) {
    p.copy(out, at)
    at += p.length
  }
  return out
}

/** Cuts a stream of blocks into fixed pieces. */
async function* fixedFromBlocks(
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  chunkSize: number,
): AsyncGenerator<Buffer> {
  let current = ownBuffer(chunkSize)
  let fill = 0
  for await (const block of blocks) {
    let at = 0
    while (at < block.length) {
      const n = Math.min(chunkSize - fill, block.length - at)
      block.copy(current, fill, at, at + n)
      fill += n
      at += n
      if (fill === chunkSize) {
        yield current
        current = ownBuffer(chunkSize)
        fill = 0
      }
    }
  }
  if (fill > 0) yield current.subarray(0, fill)
}

/** Cuts a stream of blocks at the chunker's boundaries (independent of the block sizes). */
async function* dynamicFromBlocks(
  blocks: AsyncIterable<Buffer> | Iterable<Buffer>,
  chunker: Chunker,
): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = []
  let pending = 0
  for await (const block of blocks) {
    let at = 0
    while (at < block.length) {
      const rest = block.subarray(at)
      const cut = chunker.scan(rest)
      if (cut === 0) {
        pieces.push(rest)
        pending += rest.length
        break
      }
      pieces.push(rest.subarray(0, cut))
      pending += cut
      yield concatOwn(pieces, pending)
      pieces = []
      pending = 0
      at += cut
    }
  }
  if (pending > 0) yield concatOwn(pieces, pending)
}

/** A regular file (or device/pipe) opened by path. */
class FileSource implements ArchiveSource {
  readonly label: string
  readonly size: number | undefined
  readonly #fh: FileHandle

  private constructor(label: string, fh: FileHandle, size: number | undefined) {
    this.label = label
    this.#fh = fh
    this.size = size
  }

  static async open(path: string): Promise<FileSource> {
    let fh: FileHandle
    try {
      fh = await open(path, 'r')
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR'))
        throw new NotFoundError(`archive source '${path}' does not exist`, { path })
      throw new StorageError(
        `opening archive source '${path}' failed - ${errorMessage(e)}`,
        { path },
        { cause: e },
      )
    }
    try {
      const st = await fh.stat()
      if (st.isDirectory()) {
        throw new ValidationError(
          'archive source',
          path,
          'is a directory (directory archives are not supported yet)',
        )
      }
      return new FileSource(path, fh, st.isFile() ? st.size : undefined)
    } catch (e) {
      await fh.close()
      throw e
    }
  }

  /** Reads exactly `length` bytes at `offset` into an own buffer. */
  async #readAt(offset: number, length: number): Promise<Buffer> {
    const buf = ownBuffer(length)
    let got = 0
    while (got < length) {
      const { bytesRead } = await this.#fh.read(buf, got, length - got, offset + got)
      if (bytesRead === 0) {
        throw new StorageError(
          `reading archive source '${this.label}' failed - file shrank while reading (EOF at ${offset + got})`,
          {
            path: this.label,
          },
        )
      }
      got += bytesRead
    }
    return buf
  }

  /** Sequential blocks; positional with one read ahead for regular files. */
  async *#blocks(blockSize: number): AsyncGenerator<Buffer> {
    const size = this.size
    if (size === undefined) {
      for (;;) {
        const buf = ownBuffer(blockSize)
        const { bytesRead } = await this.#fh.read(buf, 0, blockSize, null)
        if (bytesRead === 0) return
        yield buf.subarray(0, bytesRead)
      }
    }
    let offset = 0
    let next = size > 0 ? this.#readAt(0, Math.min(blockSize, size)) : undefined
    while (next) {
      const buf = await next
      offset += buf.length
      next = offset < size ? this.#readAt(offset, Math.min(blockSize, size - offset)) : undefined
      // Keep a failed read-ahead from surfacing as an unhandled rejection if the consumer stops.
      next?.catch(() => undefined)
      yield buf
    }
  }

  fixedChunks(chunkSize: number): AsyncIterable<Buffer> {
    // Regular files: blocks of chunk size are the chunks (no copy).
    return this.size === undefined
      ? fixedFromBlocks(this.#blocks(READ_BLOCK), chunkSize)
      : this.#blocks(chunkSize)
  }

  dynamicChunks(chunker: Chunker): AsyncIterable<Buffer> {
    return dynamicFromBlocks(this.#blocks(READ_BLOCK), chunker)
  }

  async readAll(limit: number): Promise<Buffer> {
    if (this.size !== undefined && this.size > limit) throw tooBig(this.label, this.size, limit)
    return collect(this.#blocks(READ_BLOCK), this.label, limit)
  }

  close(): Promise<void> {
    return this.#fh.close()
  }
}

/** Bytes in memory. */
class BufferSource implements ArchiveSource {
  readonly label = 'buffer'
  readonly size: number
  readonly #data: Buffer

  constructor(data: Uint8Array) {
    this.#data = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    this.size = data.length
  }

  fixedChunks(chunkSize: number): AsyncIterable<Buffer> {
    // Copies into own buffers: the caller's buffer must stay intact when chunks go to workers.
    return fixedFromBlocks(this.size > 0 ? [this.#data] : [], chunkSize)
  }

  dynamicChunks(chunker: Chunker): AsyncIterable<Buffer> {
    return dynamicFromBlocks(this.size > 0 ? [this.#data] : [], chunker)
  }

  readAll(limit: number): Promise<Buffer> {
    if (this.size > limit) return Promise.reject(tooBig(this.label, this.size, limit))
    return Promise.resolve(this.#data)
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** stdin or any async iterable of bytes; size unknown. */
class StreamSource implements ArchiveSource {
  readonly label: string
  readonly size = undefined
  readonly #stream: AsyncIterable<Uint8Array>
  #used = false

  constructor(label: string, stream: AsyncIterable<Uint8Array>) {
    this.label = label
    this.#stream = stream
  }

  async *#blocks(): AsyncGenerator<Buffer> {
    if (this.#used) throw new ValidationError('archive source', this.label, 'can only be read once')
    this.#used = true
    for await (const chunk of this.#stream) {
      if (typeof chunk === 'string')
        throw new ValidationError('archive source', this.label, 'must be a byte stream, not text')
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    }
  }

  fixedChunks(chunkSize: number): AsyncIterable<Buffer> {
    return fixedFromBlocks(this.#blocks(), chunkSize)
  }

  dynamicChunks(chunker: Chunker): AsyncIterable<Buffer> {
    return dynamicFromBlocks(this.#blocks(), chunker)
  }

  readAll(limit: number): Promise<Buffer> {
    return collect(this.#blocks(), this.label, limit)
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

async function collect(blocks: AsyncIterable<Buffer>, label: string, limit: number): Promise<Buffer> {
  const pieces: Buffer[] = []
  let total = 0
  for await (const b of blocks) {
    total += b.length
    if (total > limit) throw tooBig(label, total, limit)
    pieces.push(b)
  }
  return concatOwn(pieces, total)
}

function tooBig(label: string, size: number, limit: number): ValidationError {
  return new ValidationError(
    'blob archive source',
    label,
    `holds ${size > limit ? 'more than ' : ''}${limit} bytes, the maximum for a blob`,
  )
}
