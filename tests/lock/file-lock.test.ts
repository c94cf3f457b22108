import assert from 'node:assert/strict'
import { mkdtemp, open, readdir, readlink, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { AbortedError, LockBusyError } from '../../src/errors.js'
import {
  acquireFileLock,
  checkLockFileIdentity,
  withLock,
  type LockGuard,
  type LockOptions,
} from '../../src/lock/file-lock.js'
import { describeHolders, parseProcLocks, shortenCmdline, splitDev } from '../../src/lock/lock-holders.js'
import { flockCommandCan, spawnHolder, spawnNodeHolder } from '../helpers/lock-children.js'

let dir: string
let n = 0
/** A fresh lock-file path (in a not yet existing subdirectory) per test. */
const lockPath = () => join(dir, `store${++n}`, 'a:b', 'vm-100')
const opts = (
  mode: 'exclusive' | 'shared',
  timeoutMs = 0,
  extra: Partial<LockOptions> = {},
): LockOptions => ({
  mode,
  timeoutMs,
  what: "snapshot 'vm/100/2024-01-02T03:04:05Z'",
  ...extra,
})

async function rejectsBusy(p: Promise<unknown>): Promise<LockBusyError> {
  try {
    await p
  } catch (e) {
    assert.ok(e instanceof LockBusyError, `expected LockBusyError, got ${String(e)}`)
    return e
  }
  assert.fail('expected the lock to be busy')
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbs-store-lock-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('acquireFileLock in one process', () => {
  it('creates parent dirs and a 0660 lock file despite the umask, and keeps it after release', async () => {
    const p = lockPath()
    const g = await acquireFileLock(p, opts('exclusive'))
    assert.equal(g.path, p)
    assert.equal(g.mode, 'exclusive')
    const st = await stat(p, { bigint: true })
    assert.equal(Number(st.mode) & 0o7777, 0o660)
    assert.equal(g.ino, st.ino)
    await g.release()
    await g.release() // idempotent
    assert.equal(g.released, true)
    assert.ok((await stat(p)).isFile(), 'lock files are never deleted on unlock')
  })

  it('hands created lock files and directories to the requested owner', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to chown')
    const top = join(dir, `owned${++n}`)
    const p = join(top, 'ns', 'vm-100')
    const owner = { uid: 34, gid: 34 }
    await (await acquireFileLock(p, opts('exclusive', 0, { owner }))).release()
    for (const path of [top, join(top, 'ns'), p]) {
      const st = await stat(path)
      assert.deepEqual([st.uid, st.gid], [34, 34], path)
    }
    assert.equal((await stat(p)).mode & 0o7777, 0o660)
  })

  it('conflicts with itself on a second fd (flock is per open file description)', async () => {
    const p = lockPath()
    const g = await acquireFileLock(p, opts('exclusive'))
    const e = await rejectsBusy(acquireFileLock(p, opts('exclusive')))
    assert.match(e.message, /locked by pid \d+ \(this process\)/)
    assert.deepEqual(e.data.pids, [process.pid])
    await rejectsBusy(acquireFileLock(p, opts('shared')))
    await g.release()
    const again = await acquireFileLock(p, opts('exclusive'))
    await again.release()
  })

  it('lets shared holders in one process coexist', async () => {
    const p = lockPath()
    const a = await acquireFileLock(p, opts('shared'))
    const b = await acquireFileLock(p, opts('shared'))
    await rejectsBusy(acquireFileLock(p, opts('exclusive')))
    await a.release()
    await b.release()
  })

  it('withLock releases when the callback throws, and supports await using', async () => {
    const p = lockPath()
    await assert.rejects(
      withLock(p, opts('exclusive'), () => {
        throw new Error('boom')
      }),
      /boom/,
    )
    const value = await withLock(p, opts('exclusive'), (g) => g.mode)
    assert.equal(value, 'exclusive')
    {
      await using g = await acquireFileLock(p, opts('exclusive'))
      assert.equal(g.released, false)
      await rejectsBusy(acquireFileLock(p, opts('shared')))
    }
    await (await acquireFileLock(p, opts('exclusive'))).release()
  })

  it('gives up a timed wait with AbortedError when the signal fires', async () => {
    const p = lockPath()
    const g = await acquireFileLock(p, opts('exclusive'))
    const started = Date.now()
    await assert.rejects(
      acquireFileLock(p, opts('exclusive', 10_000, { signal: AbortSignal.timeout(100) })),
      (e: unknown) => e instanceof AbortedError,
    )
    assert.ok(Date.now() - started < 2000)
    await g.release()
  })
})

describe('lock contention with other processes', () => {
  it('exclusive vs exclusive: busy, and the error names the holder pid and command', async () => {
    const p = lockPath()
    const holder = await spawnNodeHolder('flock', p, 'exclusive')
    try {
      const e = await rejectsBusy(acquireFileLock(p, opts('exclusive')))
      assert.match(
        e.message,
        new RegExp(
          `^unable to acquire exclusive lock on snapshot 'vm/100/2024-01-02T03:04:05Z' - locked by pid ${holder.pid} \\(${basename(process.execPath)} `,
        ),
      )
      assert.deepEqual(e.data.pids, [holder.pid])
      assert.equal(e.data.mode, 'exclusive')
      assert.equal(e.data.path, p)
    } finally {
      await holder.release()
    }
    // Released by the child: now we get it.
    await (await acquireFileLock(p, opts('exclusive'))).release()
  })

  it('shared vs exclusive in both directions', async () => {
    const p = lockPath()
    const shared = await spawnNodeHolder('flock', p, 'shared')
    try {
      const e = await rejectsBusy(acquireFileLock(p, opts('exclusive')))
      assert.deepEqual(e.data.pids, [shared.pid])
    } finally {
      await shared.release()
    }
    const excl = await spawnNodeHolder('flock', p, 'exclusive')
    try {
      const e = await rejectsBusy(acquireFileLock(p, opts('shared')))
      assert.match(e.message, /^unable to acquire shared lock on /)
      assert.deepEqual(e.data.pids, [excl.pid])
    } finally {
      await excl.release()
    }
  })

  it('shared vs shared: all succeed; exclusive then names every holder', async () => {
    const p = lockPath()
    const a = await spawnNodeHolder('flock', p, 'shared')
    const b = await spawnNodeHolder('flock', p, 'shared')
    try {
      const mine = await acquireFileLock(p, opts('shared'))
      await mine.release()
      const e = await rejectsBusy(acquireFileLock(p, opts('exclusive')))
      assert.deepEqual(
        e.data.pids,
        [a.pid, b.pid].sort((x, y) => x - y),
      )
      assert.match(e.message, /locked by pids \d+ \(.*\), \d+ \(/)
    } finally {
      await Promise.all([a.release(), b.release()])
    }
  })

  it('a child holding ours makes the child see us busy too (BUSY exit)', async () => {
    const p = lockPath()
    const g = await acquireFileLock(p, opts('exclusive'))
    try {
      await assert.rejects(spawnNodeHolder('flock', p, 'shared'), /exited \(3\) before ready: BUSY unable/)
    } finally {
      await g.release()
    }
  })

  it('a timed acquire succeeds when the holder releases within the timeout', async () => {
    const p = lockPath()
    const holder = await spawnNodeHolder('flock', p, 'exclusive')
    const started = Date.now()
    const releasing = sleep(300).then(() => holder.release())
    const g = await acquireFileLock(p, opts('exclusive', 5000))
    const waited = Date.now() - started
    await releasing
    assert.ok(waited >= 250, `waited ${waited} ms`)
    assert.ok(waited < 3000, `waited ${waited} ms`)
    await g.release()
  })

  it('a timed acquire fails after about the timeout when the holder keeps it', async () => {
    const p = lockPath()
    const holder = await spawnNodeHolder('flock', p, 'exclusive')
    try {
      const started = Date.now()
      const e = await rejectsBusy(acquireFileLock(p, opts('exclusive', 600)))
      const waited = Date.now() - started
      assert.ok(waited >= 590 && waited < 1500, `waited ${waited} ms`)
      assert.match(e.message, /within 600 ms - locked by pid/)
      assert.deepEqual(e.data.pids, [holder.pid])
      assert.equal(e.data.timeoutMs, 600)
    } finally {
      await holder.release()
    }
  })

  it('is released when the holder is SIGKILLed', async () => {
    const p = lockPath()
    const holder = await spawnNodeHolder('flock', p, 'exclusive')
    await rejectsBusy(acquireFileLock(p, opts('exclusive')))
    await holder.kill()
    assert.equal(holder.child.signalCode, 'SIGKILL')
    await (await acquireFileLock(p, opts('exclusive'))).release()
  })

  it('interoperates with util-linux flock(1) on the same file', async () => {
    const p = lockPath()
    await (await acquireFileLock(p, opts('shared'))).release() // create it
    const cmd = await spawnHolder('flock', ['-x', p, 'sh', '-c', 'echo LOCKED; exec sleep 30'])
    try {
      const e = await rejectsBusy(acquireFileLock(p, opts('shared')))
      // flock(1) took the lock itself, then ran the command with the fd inherited.
      assert.deepEqual(e.data.pids, [cmd.pid])
      assert.match(e.message, /locked by pid \d+ \(flock -x /)
    } finally {
      await cmd.kill()
    }
    // The killed group's `sleep` (which inherited the fd) may exit a moment after flock(1) itself.
    const g = await acquireFileLock(p, opts('exclusive', 2000))
    try {
      assert.equal(await flockCommandCan(p, 'shared'), false)
      assert.equal(await flockCommandCan(p, 'exclusive'), false)
    } finally {
      await g.release()
    }
    const s = await acquireFileLock(p, opts('shared'))
    try {
      assert.equal(await flockCommandCan(p, 'shared'), true)
      assert.equal(await flockCommandCan(p, 'exclusive'), false)
    } finally {
      await s.release()
    }
    assert.equal(await flockCommandCan(p, 'exclusive'), true)
  })

  it('keeps the event loop responsive while 8 timed waits spin on a held lock', async () => {
    const p = lockPath()
    const holder = await spawnNodeHolder('flock', p, 'exclusive')
    let ticks = 0
    let maxLag = 0
    let last = performance.now()
    const timer = setInterval(() => {
      const now = performance.now()
      maxLag = Math.max(maxLag, now - last - 10)
      last = now
      ticks++
    }, 10)
    try {
      const started = Date.now()
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => acquireFileLock(p, opts('exclusive', 1000))),
      )
      const waited = Date.now() - started
      assert.ok(waited >= 990, `waited ${waited} ms`)
      for (const r of results) {
        assert.equal(r.status, 'rejected')
        assert.ok(r.reason instanceof LockBusyError)
      }
    } finally {
      clearInterval(timer)
      await holder.release()
    }
    assert.ok(ticks >= 40, `only ${ticks} ticks in ~1 s`)
    assert.ok(maxLag < 100, `event loop lag ${maxLag.toFixed(1)} ms`)
  })
})

describe('double-stat check', () => {
  it('checkLockFileIdentity tells same, replaced and removed apart', async () => {
    const p = join(dir, `ident${++n}`)
    await writeFile(p, '')
    const h = await open(p, 'r+')
    try {
      assert.equal(await checkLockFileIdentity(h, p), 'same')
      await unlink(p)
      assert.equal(await checkLockFileIdentity(h, p), 'removed')
      await writeFile(p, '')
      assert.equal(await checkLockFileIdentity(h, p), 'replaced')
    } finally {
      await h.close()
    }
  })

  it('a waiter whose lock file is deleted by the holder ends up locking the new file', async () => {
    const p = lockPath()
    const holder = await spawnNodeHolder('flock', p, 'exclusive')
    const waiting = acquireFileLock(p, opts('exclusive', 5000))
    // Wait until the waiter has the old file open (deterministic, no sleeping on luck).
    await waitUntil(async () => (await openFdTargets()).includes(p))
    // Like snapshot destroy: the holder's file is unlinked while locked, then the holder lets go.
    await unlink(p)
    await holder.release()
    const g: LockGuard = await waiting
    try {
      // Without the check the waiter would hold the deleted inode and `p` would not exist at all.
      // (Comparing with the old inode number proves nothing: ext4 reuses it once the fd is closed.)
      const now = await stat(p, { bigint: true })
      assert.equal(g.ino, now.ino)
      // And the lock really is on the file the path names now.
      assert.equal(await flockCommandCan(p, 'shared'), false)
    } finally {
      await g.release()
    }
  })

  it('retries when the file is replaced once between flock and stat', async () => {
    const p = lockPath()
    let calls = 0
    const g = await acquireFileLock(
      p,
      opts('exclusive', 0, {
        afterFlock: async (path) => {
          if (calls++ === 0) await replaceFile(path)
        },
      }),
    )
    try {
      assert.equal(calls, 2)
      assert.equal(g.ino, (await stat(p, { bigint: true })).ino)
    } finally {
      await g.release()
    }
  })

  it('fails with "another process modified the lock file" when it keeps being replaced', async () => {
    const p = lockPath()
    let calls = 0
    const e = await rejectsBusy(
      acquireFileLock(
        p,
        opts('exclusive', 0, {
          afterFlock: async (path) => {
            calls++
            await replaceFile(path)
          },
        }),
      ),
    )
    assert.match(
      e.message,
      /^unable to acquire exclusive lock on snapshot .* - another process modified the lock file/,
    )
    assert.equal(e.data.reason, 'lock-file-replaced')
    assert.equal(calls, 6)
    // Every lock taken along the way was dropped.
    await (await acquireFileLock(p, opts('exclusive'))).release()
  })
})

describe('lock holder lookup', () => {
  it('parses /proc/locks, skipping waiters', () => {
    const text = [
      '1: FLOCK  ADVISORY  WRITE 4914 fe:00:2146636 0 EOF',
      '1: -> FLOCK  ADVISORY  WRITE 4999 fe:00:2146636 0 EOF',
      '2: POSIX  ADVISORY  READ 77 00:1a:18446744073709551615 0 EOF',
      'garbage',
    ].join('\n')
    assert.deepEqual(parseProcLocks(text), [
      { kind: 'FLOCK', access: 'WRITE', pid: 4914, major: 0xfe, minor: 0, ino: 2146636n },
      { kind: 'POSIX', access: 'READ', pid: 77, major: 0, minor: 0x1a, ino: 18446744073709551615n },
    ])
  })

  it('splits st_dev like glibc major()/minor()', () => {
    assert.deepEqual(splitDev(0xfe00n), { major: 254, minor: 0 })
    // makedev(259, 300): minor bits beyond 8 live at bit 20.
    const dev = (259n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n)
    assert.deepEqual(splitDev(dev), { major: 259, minor: 300 })
  })

  it('formats holders compactly and safely', () => {
    assert.equal(describeHolders([]), 'another process')
    assert.equal(describeHolders([{ pid: 5, cmdline: 'node x.js' }]), 'pid 5 (node x.js)')
    assert.equal(describeHolders([{ pid: 5 }, { pid: 6, cmdline: 'y' }]), 'pids 5, 6 (y)')
    assert.equal(shortenCmdline('/usr/bin/a\0b\nc\0'), 'a b?c')
    assert.equal(shortenCmdline('x'.repeat(100)).length, 60)
  })
})

async function replaceFile(path: string): Promise<void> {
  await unlink(path)
  await writeFile(path, '')
}

async function openFdTargets(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd')
  const out: string[] = []
  for (const fd of fds) {
    try {
      out.push(await readlink(`/proc/self/fd/${fd}`))
    } catch {
      // fd closed meanwhile
    }
  }
  return out
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) assert.fail('condition not reached in time')
    await sleep(5)
  }
}
