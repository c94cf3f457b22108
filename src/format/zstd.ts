/**
 * zstd frame compression as PBS does it, on the native zstd-napi binding.
 *
 * Compression mirrors `zstd_safe::compress(dst[..data.len()], data, 1)`: the output buffer is
 * exactly as large as the input, so "does not fit" shows up as zstd's "destination too small"
 * error and the caller stores the data uncompressed. Decompression accepts any sequence of
 * complete frames (with or without a content size) and refuses to grow past a limit, so a
 * hostile frame header cannot make us allocate gigabytes.
 */
import zstd from 'zstd-napi/binding.js'

import { CorruptionError } from '../errors.js'

let sharedCCtx: InstanceType<typeof zstd.CCtx> | undefined
let sharedDCtx: InstanceType<typeof zstd.DCtx> | undefined

/**
 * Compresses `data` at `level` into at most `data.length` bytes.
 * Returns undefined when the frame would not fit (or zstd fails), exactly when PBS stores uncompressed.
 */
export function zstdCompressIfSmaller(data: Uint8Array, level = 1): Buffer | undefined {
  if (data.length === 0) return undefined
  sharedCCtx ??= new zstd.CCtx()
  const dst = Buffer.allocUnsafe(data.length)
  let written: number
  try {
    written = sharedCCtx.compress(dst, data, level)
  } catch {
    // Any zstd error (normally "Destination buffer is too small") means: store it uncompressed.
    return undefined
  }
  // Copy so the result does not pin an input-sized allocation.
  return Buffer.from(dst.subarray(0, written))
}

/**
 * Decompresses one or more complete zstd frames, producing at most `limit` bytes.
 * @throws CorruptionError for malformed or truncated frames and for output beyond `limit`.
 */
export function zstdDecompress(src: Uint8Array, limit: number): Buffer {
  const declared = firstFrameContentSize(src)
  if (declared !== undefined && declared > limit) {
    throw new CorruptionError(
      `zstd decompression failed - frame declares ${declared} bytes, output exceeds ${limit} bytes`,
      {
        limit,
      },
    )
  }
  const single = singleFrameContentSize(src)
  if (single !== undefined && single <= limit) {
    sharedDCtx ??= new zstd.DCtx()
    const dst = Buffer.allocUnsafe(single)
    let written: number
    try {
      written = sharedDCtx.decompress(dst, src)
    } catch (e) {
      throw new CorruptionError(`zstd decompression failed - ${(e as Error).message}`, {}, { cause: e })
    }
    if (written !== single) {
      throw new CorruptionError(
        `zstd decompression failed - frame declared ${single} bytes but produced ${written}`,
      )
    }
    return dst
  }
  return streamDecompress(src, limit)
}

/** Content size the first frame declares, if it declares one and its header parses. */
function firstFrameContentSize(src: Uint8Array): number | undefined {
  try {
    return zstd.getFrameContentSize(src) ?? undefined
  } catch {
    return undefined
  }
}

/** Content size when `src` is exactly one frame that declares it; undefined otherwise. */
function singleFrameContentSize(src: Uint8Array): number | undefined {
  try {
    const size = zstd.getFrameContentSize(src)
    if (size === null) return undefined
    return zstd.findFrameCompressedSize(src) === src.length ? size : undefined
  } catch {
    return undefined // let the streaming decoder produce the precise error
  }
}

/** Streaming fallback: frames without content size, several frames, or oversized claims. */
function streamDecompress(src: Uint8Array, limit: number): Buffer {
  if (src.length === 0) throw new CorruptionError('zstd decompression failed - no data')
  // A fresh context: a failed stream leaves a context in an undefined state.
  const dctx = new zstd.DCtx()
  const chunkSize = Math.max(zstd.dStreamOutSize(), Math.min(src.length * 4, limit + 1, 16 * 1024 * 1024))
  const chunks: Buffer[] = []
  let total = 0
  let input = src
  let frameOpen = false
  for (;;) {
    const out = Buffer.allocUnsafe(chunkSize)
    let ret: number, produced: number, consumed: number
    try {
      ;[ret, produced, consumed] = dctx.decompressStream(out, input)
    } catch (e) {
      throw new CorruptionError(`zstd decompression failed - ${(e as Error).message}`, {}, { cause: e })
    }
    input = input.subarray(consumed)
    if (produced > 0) {
      total += produced
      if (total > limit) {
        throw new CorruptionError(`zstd decompression failed - output exceeds ${limit} bytes`, { limit })
      }
      chunks.push(out.subarray(0, produced))
    }
    // ret === 0: the current frame is complete and fully flushed.
    frameOpen = ret !== 0
    const outputFull = produced === chunkSize
    if (input.length === 0 && !outputFull) break
    if (consumed === 0 && produced === 0) break
  }
  if (frameOpen || input.length > 0) {
    throw new CorruptionError('zstd decompression failed - truncated or incomplete frame')
  }
  // concat also copies a lone chunk, so the result does not pin a mostly empty output buffer.
  return Buffer.concat(chunks, total)
}
