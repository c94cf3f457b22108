/**
 * A pool of worker threads for chunk hashing and encoding, so ingest uses every core while the
 * main thread only moves buffers and does I/O. Chunk memory is transferred, not copied: the main
 * thread hands a chunk's ArrayBuffer to a worker and gets the blob's ArrayBuffer back.
 */
import { Worker } from 'node:worker_threads'

import { StorageError } from '../../errors.js'
import type { ChunkCodec, ChunkJob } from './chunk-codec.js'
import type { ChunkWorkerReply, ChunkWorkerRequest } from './chunk-worker.js'

interface Pending {
  resolve: (reply: ChunkWorkerReply) => void
  reject: (e: Error) => void
}

/** One worker with its outstanding replies and the number of chunks it holds. */
class PoolWorker {
  readonly worker: Worker
  readonly pending = new Map<number, Pending>()
  /** Chunks assigned and not yet encoded or dropped (the load measure). */
  load = 0
  #failed: Error | undefined

  constructor(key: Uint8Array | undefined) {
    this.worker = new Worker(new URL('./chunk-worker.js', import.meta.url), { workerData: { key } })
    this.worker.on('message', (reply: ChunkWorkerReply) => {
      const p = this.pending.get(reply.id)
      if (!p) return
      this.pending.delete(reply.id)
      if ('error' in reply) p.reject(new StorageError(`chunk worker failed - ${reply.error}`))
      else p.resolve(reply)
    })
    const fail = (e: Error): void => {
      this.#failed = e
      for (const p of this.pending.values())
        p.reject(new StorageError(`chunk worker died - ${e.message}`, {}, { cause: e }))
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`exited with code ${code}`))
    })
  }

  request(msg: ChunkWorkerRequest, transfer: ArrayBuffer[] = []): Promise<ChunkWorkerReply> {
    if (this.#failed) return Promise.reject(new StorageError(`chunk worker died - ${this.#failed.message}`))
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject })
      this.worker.postMessage(msg, transfer)
    })
  }

  send(msg: ChunkWorkerRequest): void {
    if (!this.#failed) this.worker.postMessage(msg)
  }
}

/** Hashing and encoding on `size` worker threads. */
export class WorkerChunkCodec implements ChunkCodec {
  readonly encrypted: boolean
  readonly parallelism: number
  readonly #workers: PoolWorker[]
  #nextId = 1
  #closed = false

  /** @param key raw 32-byte key to encrypt with, if any */
  constructor(size: number, key?: Uint8Array) {
    this.encrypted = key !== undefined
    this.parallelism = size
    this.#workers = Array.from(
      { length: size },
      () => new PoolWorker(key === undefined ? undefined : Uint8Array.from(key)),
    )
  }

  async begin(data: Buffer): Promise<ChunkJob> {
    if (this.#closed) throw new StorageError('chunk codec is closed')
    const worker = this.#workers.reduce((a, b) => (b.load < a.load ? b : a))
    const id = this.#nextId++
    const length = data.length
    // Transfer when the buffer owns its memory exactly; anything else (pool slices) is copied.
    const owned =
      data.byteOffset === 0 &&
      data.buffer.byteLength === length &&
      !(data.buffer instanceof SharedArrayBuffer)
    let ab: ArrayBuffer
    if (owned) ab = data.buffer
    else {
      const copy = new Uint8Array(length)
      copy.set(data)
      ab = copy.buffer
    }
    worker.load++
    let reply: ChunkWorkerReply
    try {
      reply = await worker.request({ op: 'digest', id, buf: ab, offset: 0, length }, [ab])
    } catch (e) {
      worker.load--
      throw e
    }
    if (!('digest' in reply)) throw new StorageError('chunk worker sent an unexpected reply')
    let open = true
    const done = (): void => {
      if (open) worker.load--
      open = false
    }
    return {
      digest: Buffer.from(reply.digest.buffer, reply.digest.byteOffset, reply.digest.byteLength),
      length,
      zero: reply.zero,
      encode: async () => {
        if (!open) throw new StorageError(`chunk job ${id} was already encoded or released`)
        try {
          const r = await worker.request({ op: 'encode', id })
          if (!('blob' in r)) throw new StorageError('chunk worker sent an unexpected reply')
          return Buffer.from(r.blob, r.offset, r.length)
        } finally {
          done()
        }
      },
      release: () => {
        if (!open) return
        done()
        worker.send({ op: 'drop', id })
      },
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all(this.#workers.map((w) => w.worker.terminate()))
  }
}
