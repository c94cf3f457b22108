/**
 * syncfs(2) for `sync-level=filesystem` (spec §4.3): PBS flushes the whole datastore filesystem
 * once at backup finish instead of fsyncing every chunk. Core Node has no syncfs, so libc is bound
 * through koffi on first use (nothing is loaded at import time).
 */
import { open } from 'node:fs/promises'
import { createRequire } from 'node:module'

import type * as Koffi from 'koffi'

import { StorageError, errorMessage } from '../errors.js'

/** koffi's asynchronous call form: runs on a koffi worker thread, result via callback. */
type AsyncSyncFs = (fd: number, cb: (err: unknown, result: number) => void) => void

let bound: AsyncSyncFs | undefined

function bind(): AsyncSyncFs {
  if (bound) return bound
  const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi
  const fn = koffi.load('libc.so.6').func('int syncfs(int fd)')
  bound = (fd, cb) => {
    fn.async(fd, cb)
  }
  return bound
}

/**
 * Flushes the filesystem holding `path` (syncfs on an fd of it), off the event loop: a flush of
 * gigabytes of dirty pages can take seconds.
 * @throws StorageError when libc cannot be bound or syncfs fails.
 */
export async function syncFilesystem(path: string): Promise<void> {
  let syncfs: AsyncSyncFs
  try {
    syncfs = bind()
  } catch (e) {
    throw new StorageError(
      `syncfs on '${path}' failed - cannot bind libc: ${errorMessage(e)}`,
      { path },
      { cause: e },
    )
  }
  const fh = await open(path, 'r')
  try {
    const rc = await new Promise<number>((resolve, reject) => {
      syncfs(fh.fd, (err, result) =>
        err ? reject(err instanceof Error ? err : new Error(errorMessage(err))) : resolve(result),
      )
    })
    if (rc !== 0) throw new StorageError(`syncfs on '${path}' failed`, { path })
  } catch (e) {
    if (e instanceof StorageError) throw e
    throw new StorageError(`syncfs on '${path}' failed - ${errorMessage(e)}`, { path }, { cause: e })
  } finally {
    await fh.close()
  }
}
