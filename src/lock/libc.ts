/**
 * Lazily bound libc entry points (koffi), shared by the flock and fcntl wrappers. Nothing is loaded
 * until the first lock call, so importing src/lock has no side effects.
 */
import { createRequire } from 'node:module'

import type * as Koffi from 'koffi'

import { StorageError } from '../errors.js'

/** The few libc functions the lock layer needs, plus koffi's errno reader. */
export interface Libc {
  /** `int flock(int fd, int operation)`. */
  flock(fd: number, op: number): number
  /** `int fcntl(int fd, int cmd, struct flock *lk)` for F_GETLK / F_SETLK; `lk` is updated in place. */
  fcntlLock(fd: number, cmd: number, lk: FcntlFlock): number
  /** errno of the last call on this thread. */
  errno(): number
  /** koffi's table of POSIX errno values. */
  readonly errnos: Readonly<Record<string, number>>
}

/** JS view of `struct flock` (x86_64 / aarch64 Linux layout). */
export interface FcntlFlock {
  l_type: number
  l_whence: number
  l_start: number | bigint
  l_len: number | bigint
  l_pid: number
}

let bound: Libc | undefined

/** Bind libc on first use; later calls return the same binding. */
export function libc(): Libc {
  bound ??= bindLibc()
  return bound
}

function bindLibc(): Libc {
  if (process.platform !== 'linux') {
    throw new StorageError(`file locking needs Linux (flock/fcntl via libc), not ${process.platform}`, {
      platform: process.platform,
    })
  }
  try {
    // createRequire keeps the native addon out of module evaluation (no import-time side effects).
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi
    const lib = koffi.load('libc.so.6')
    // struct flock on 64-bit Linux (x86_64 and the generic layout aarch64 uses): short, short,
    // 4 bytes padding, off_t, off_t, pid_t, 4 bytes tail padding = 32 bytes. koffi pads like the C ABI.
    const flockStruct = koffi.struct({
      l_type: 'int16_t',
      l_whence: 'int16_t',
      l_start: 'int64_t',
      l_len: 'int64_t',
      l_pid: 'int32_t',
    })
    if (koffi.sizeof(flockStruct) !== 32 || koffi.offsetof(flockStruct, 'l_pid') !== 24) {
      throw new Error(`unexpected struct flock layout (size ${koffi.sizeof(flockStruct)})`)
    }
    const flockFn = lib.func('int flock(int fd, int op)')
    // fcntl is variadic in C; declaring it so keeps the ABI right (e.g. %al on x86_64).
    const fcntlFn = lib.func('int fcntl(int fd, int cmd, ...)')
    const flockPtr = koffi.inout(koffi.pointer(flockStruct))
    const layoutKnown = process.arch === 'x64' || process.arch === 'arm64'
    return {
      flock: (fd, op) => flockFn(fd, op) as number,
      fcntlLock: (fd, cmd, lk) => {
        if (!layoutKnown) {
          throw new StorageError(`fcntl record locks: struct flock layout unknown on ${process.arch}`, {
            arch: process.arch,
          })
        }
        return fcntlFn(fd, cmd, flockPtr, lk) as number
      },
      errno: () => koffi.errno(),
      errnos: koffi.os.errno,
    }
  } catch (e) {
    throw new StorageError(
      `loading libc lock functions failed - ${e instanceof Error ? e.message : String(e)}`,
      {},
      { cause: e },
    )
  }
}
