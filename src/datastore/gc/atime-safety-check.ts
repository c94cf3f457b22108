/**
 * GC's atime safety check (spec §7.1): proves that touching a chunk really updates its atime on
 * this filesystem before trusting atimes to decide what to delete.
 */
import { lstat, open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { StorageError, errorMessage } from '../../errors.js'
import { ZERO_CHUNK_4M_DIGEST, buildZeroChunk } from '../../format/index.js'
import { tmpNameFor } from '../../io/replace-file.js'
import { isErrno } from '../fs-util.js'
import { chunkPath } from './chunk-marker.js'
import { touchAtime } from './touch-chunk.js'

/**
 * Inserts the 4 MiB zero chunk if missing, waits 1 s, touches it and requires a later atime on the
 * same inode (one retry when the inode changed underneath, e.g. a concurrent insert).
 * @throws StorageError when atime updates do not work.
 */
export async function checkAtimeUpdates(chunkDir: string, waitMs = 1000): Promise<void> {
  const path = chunkPath(chunkDir, ZERO_CHUNK_4M_DIGEST)
  for (let attempt = 0; ; attempt++) {
    await insertIfMissing(path)
    const before = await lstat(path, { bigint: true })
    await sleep(waitMs)
    if (!(await touchAtime(path))) throw fail(path, 'the zero chunk vanished during the check')
    const after = await lstat(path, { bigint: true })
    if (after.ino !== before.ino) {
      if (attempt === 0) continue
      throw fail(path, 'the chunk inode changed twice during the check')
    }
    if (after.atimeNs <= before.atimeNs)
      throw fail(path, `atime did not increase (${before.atimeNs} -> ${after.atimeNs})`)
    return
  }
}

async function insertIfMissing(path: string): Promise<void> {
  try {
    await lstat(path)
    return
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw fail(path, errorMessage(e))
  }
  const tmp = tmpNameFor(path)
  try {
    const fh = await open(tmp, 'wx', 0o644)
    try {
      await fh.writeFile(buildZeroChunk().blob)
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (e) {
    await unlink(tmp).catch(() => undefined)
    throw new StorageError(
      `inserting zero chunk into '${dirname(path)}' failed - ${errorMessage(e)}`,
      { path },
      { cause: e },
    )
  }
}

function fail(path: string, cause: string): StorageError {
  return new StorageError(`atime safety check on '${path}' failed - ${cause}`, {
    path,
    hint: "set the datastore tuning option 'gc-atime-safety-check' to false to skip it",
  })
}
