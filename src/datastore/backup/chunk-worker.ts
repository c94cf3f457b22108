/**
 * Worker-thread side of {@link WorkerChunkCodec}: hashes chunks, keeps each one until the main
 * thread says whether to encode it (new to the store) or drop it (already stored).
 *
 * Protocol (all messages carry the job id):
 *   → { op: 'digest', id, buf, offset, length }  ← { id, digest, zero }
 *   → { op: 'encode', id }                       ← { id, blob, offset, length }
 *   → { op: 'drop', id }                         (no reply)
 *   ← { id, error } when an operation fails.
 * Started with workerData `{ key?: Uint8Array }`.
 */
import { parentPort, workerData } from 'node:worker_threads'

import { CryptConfig, chunkDigest, encodeBlob } from '../../format/index.js'
import { ZeroDigests } from './chunk-codec.js'

/** Request from the main thread. */
export type ChunkWorkerRequest =
  | { op: 'digest'; id: number; buf: ArrayBuffer; offset: number; length: number }
  | { op: 'encode'; id: number }
  | { op: 'drop'; id: number }

/** Reply to the main thread. */
export type ChunkWorkerReply =
  | { id: number; digest: Uint8Array; zero: boolean }
  | { id: number; blob: ArrayBuffer; offset: number; length: number }
  | { id: number; error: string }

/** Message handler of one worker. */
function serve(port: NonNullable<typeof parentPort>, key: Uint8Array | undefined): void {
  const crypt = key === undefined ? undefined : new CryptConfig(key)
  const zeros = new ZeroDigests(crypt)
  const held = new Map<number, Buffer>()

  port.on('message', (msg: ChunkWorkerRequest) => {
    try {
      if (msg.op === 'digest') {
        const data = Buffer.from(msg.buf, msg.offset, msg.length)
        const zero = zeros.isZero(data)
        const digest = zero ? zeros.digest(data.length) : chunkDigest(data, crypt)
        held.set(msg.id, data)
        port.postMessage({ id: msg.id, digest, zero } satisfies ChunkWorkerReply)
      } else if (msg.op === 'encode') {
        const data = held.get(msg.id)
        held.delete(msg.id)
        if (data === undefined) throw new Error(`chunk job ${msg.id} is unknown`)
        let blob = encodeBlob(data, { compress: true, crypt })
        // Transfer needs a buffer that owns its whole ArrayBuffer (small ones come from the pool).
        if (blob.byteOffset !== 0 || blob.buffer.byteLength !== blob.length) {
          const own = new Uint8Array(blob.length)
          own.set(blob)
          blob = Buffer.from(own.buffer)
        }
        const ab = blob.buffer as ArrayBuffer
        port.postMessage(
          { id: msg.id, blob: ab, offset: 0, length: blob.length } satisfies ChunkWorkerReply,
          [ab],
        )
      } else {
        held.delete(msg.id)
      }
    } catch (e) {
      held.delete(msg.id)
      port.postMessage({
        id: msg.id,
        error: e instanceof Error ? e.message : String(e),
      } satisfies ChunkWorkerReply)
    }
  })
}

if (parentPort) serve(parentPort, (workerData as { key?: Uint8Array } | undefined)?.key)
