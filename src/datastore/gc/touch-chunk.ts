/**
 * Marking a chunk: utimensat(path, atime=UTIME_NOW, mtime=UTIME_OMIT, AT_SYMLINK_NOFOLLOW) as PBS
 * does (`cond_touch_path`). Node's utimes can only set both times, which would need a stat first and
 * race with writers, so libc is called directly (koffi, bound lazily on first use).
 */
import { lstat, lutimes } from 'node:fs/promises'
import { createRequire } from 'node:module'

import type * as Koffi from 'koffi'

import { StorageError } from '../../errors.js'

const AT_FDCWD = -100
const AT_SYMLINK_NOFOLLOW = 0x100
const UTIME_NOW = (1 << 30) - 1
const UTIME_OMIT = (1 << 30) - 2

interface Utimensat {
  call(path: string): number
  errno(): number
  enoent: number
}

let bound: Utimensat | null | undefined

function binding(): Utimensat | null {
  if (bound !== undefined) return bound
  bound = null
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return bound
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi
    const lib = koffi.load('libc.so.6')
    // struct timespec[2] on 64-bit Linux: two (int64 tv_sec, long tv_nsec) pairs.
    const times = koffi.struct({
      a_sec: 'int64_t',
      a_nsec: 'int64_t',
      m_sec: 'int64_t',
      m_nsec: 'int64_t',
    })
    const fn = lib.func('int utimensat(int dirfd, const char *path, const void *times, int flags)')
    const value = { a_sec: 0, a_nsec: UTIME_NOW, m_sec: 0, m_nsec: UTIME_OMIT }
    const encoded = Buffer.alloc(koffi.sizeof(times))
    koffi.encode(encoded, times, value)
    bound = {
      call: (path) => fn(AT_FDCWD, path, encoded, AT_SYMLINK_NOFOLLOW) as number,
      errno: () => koffi.errno(),
      enoent: koffi.os.errno.ENOENT ?? 2,
    }
  } catch {
    bound = null
  }
  return bound
}

/**
 * Sets the atime of `path` to now and leaves its mtime alone.
 * @returns false when the file does not exist.
 * @throws StorageError for any other failure.
 */
export async function touchAtime(path: string): Promise<boolean> {
  const b = binding()
  if (b) {
    if (b.call(path) === 0) return true
    const errno = b.errno()
    if (errno === b.enoent) return false
    throw new StorageError(`updating atime of '${path}' failed - errno ${errno}`, { path, errno })
  }
  // Fallback off Linux: keeps mtime by re-setting the value just read (racy, but only a fallback).
  try {
    const st = await lstat(path)
    await lutimes(path, new Date(), st.mtime)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new StorageError(
      `updating atime of '${path}' failed - ${(e as Error).message}`,
      { path },
      { cause: e },
    )
  }
}
