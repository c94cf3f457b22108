import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import { LockBusyError } from '../../src/errors.js'
import { parseProcLocks, splitDev } from '../../src/lock/lock-holders.js'
import { processLockFor } from '../../src/lock/process-lock.js'
import { pythonCanFcntl, spawnNodeHolder, spawnPythonFcntlHolder } from '../helpers/lock-children.js'

let dir: string
let n = 0
/** A fresh datastore base directory per test (the registry keeps one instance per base). */
async function newBase(): Promise<string> {
  const base = join(dir, `store${++n}`)
  await mkdir(base)
  return base
}

function busy(fn: () => unknown): LockBusyError {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof LockBusyError, `expected LockBusyError, got ${String(e)}`)
    return e
  }
  assert.fail('expected the process lock to be busy')
}

/** POSIX (fcntl) locks /proc/locks shows on a file, as [pid, READ|WRITE]. */
async function posixLocksOn(file: string): Promise<Array<[number, string]>> {
  const st = await stat(file, { bigint: true })
  const { major, minor } = splitDev(st.dev)
  return parseProcLocks(await readFile('/proc/locks', 'utf8'))
    .filter((e) => e.kind === 'POSIX' && e.ino === st.ino && e.major === major && e.minor === minor)
    .map((e) => [e.pid, e.access])
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbs-store-plock-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('chunk-store process lock (fcntl)', () => {
  it('is one instance per base, also through a symlink', async () => {
    const base = await newBase()
    const link = join(dir, `link${n}`)
    await symlink(base, link)
    assert.equal(processLockFor(base), processLockFor(link))
    assert.equal(processLockFor(base).lockPath, join(base, '.lock'))
  })

  it('a foreign shared lock (python lockf) blocks our exclusive, not our shared', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const py = await spawnPythonFcntlHolder(lock.lockPath, 'shared')
    try {
      const e = busy(() => lock.tryExclusive())
      assert.match(
        e.message,
        new RegExp(
          `^unable to get exclusive lock on chunk store '.*' - locked shared by pid ${py.pid} \\(python3`,
        ),
      )
      assert.deepEqual(e.data.pids, [py.pid])
      assert.equal(lock.isExclusive, false)
      const s = lock.tryShared()
      s.release()
    } finally {
      await py.release()
    }
    lock.tryExclusive().release()
  })

  it('a foreign exclusive lock blocks our shared', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const py = await spawnPythonFcntlHolder(lock.lockPath, 'exclusive')
    try {
      const e = busy(() => lock.tryShared())
      assert.match(e.message, new RegExp(`- locked exclusively by pid ${py.pid} `))
      assert.equal(lock.sharedCount, 0, 'a failed shared try must not count')
    } finally {
      await py.release()
    }
    lock.tryShared().release()
  })

  it('our shared lock blocks a foreign exclusive but lets a foreign shared in', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const a = lock.tryShared()
    const b = lock.tryShared()
    assert.deepEqual(await posixLocksOn(lock.lockPath), [[process.pid, 'READ']])
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), false)
    assert.equal(await pythonCanFcntl(lock.lockPath, 'shared'), true)
    a.release()
    a.release() // idempotent: must not drop b's count
    assert.equal(lock.sharedCount, 1)
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), false)
    b.release()
    assert.equal(lock.sharedCount, 0)
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), true)
    assert.deepEqual(await posixLocksOn(lock.lockPath), [])
  })

  it('our exclusive lock blocks foreign shared and exclusive, and our own second exclusive', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const x = lock.tryExclusive()
    assert.equal(await pythonCanFcntl(lock.lockPath, 'shared'), false)
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), false)
    const e = busy(() => lock.tryExclusive())
    assert.match(e.message, /already locked exclusively by this process/)
    x.release()
    x.release()
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), true)
  })

  it('downgrades to shared when the exclusive guard goes while shared guards remain', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const s = lock.tryShared()
    const x = lock.tryExclusive() // in-process: shared and exclusive coexist
    assert.deepEqual(await posixLocksOn(lock.lockPath), [[process.pid, 'WRITE']])
    assert.equal(await pythonCanFcntl(lock.lockPath, 'shared'), false)
    x.release()
    assert.deepEqual(await posixLocksOn(lock.lockPath), [[process.pid, 'READ']])
    assert.equal(await pythonCanFcntl(lock.lockPath, 'shared'), true)
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), false)
    s.release()
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), true)
  })

  it('a shared guard taken while exclusive is held keeps the lock after both are released in order', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const x = lock.tryExclusive()
    const s = lock.tryShared()
    x.release()
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), false)
    s.release()
    assert.equal(await pythonCanFcntl(lock.lockPath, 'exclusive'), true)
  })

  it('sees another pbs-store process holding it (node child)', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    const child = await spawnNodeHolder('fcntl', base, 'exclusive')
    try {
      const e = busy(() => lock.tryShared())
      assert.deepEqual(e.data.pids, [child.pid])
      assert.match(
        e.message,
        new RegExp(`locked exclusively by pid ${child.pid} \\(${basename(process.execPath)} `),
      )
    } finally {
      await child.release()
    }
    const shared = await spawnNodeHolder('fcntl', base, 'shared')
    try {
      busy(() => lock.tryExclusive())
      lock.tryShared().release()
    } finally {
      await shared.release()
    }
  })

  it('reports the oldest shared acquire time (epoch seconds)', async () => {
    const base = await newBase()
    const lock = processLockFor(base)
    assert.equal(lock.oldestSharedLockTime(), undefined)
    const before = Math.floor(Date.now() / 1000)
    const first = lock.tryShared()
    assert.ok(first.acquiredAt >= before && first.acquiredAt <= before + 1)
    // Let the wall-clock second tick so the two guards differ.
    while (Math.floor(Date.now() / 1000) === first.acquiredAt) await sleep(20)
    const second = lock.tryShared()
    assert.ok(second.acquiredAt > first.acquiredAt)
    assert.equal(lock.oldestSharedLockTime(), first.acquiredAt)
    first.release()
    assert.equal(lock.oldestSharedLockTime(), second.acquiredAt)
    {
      using third = lock.tryShared()
      assert.equal(lock.oldestSharedLockTime(), second.acquiredAt)
      assert.equal(lock.sharedCount, 2)
      assert.ok(third.acquiredAt >= second.acquiredAt)
    }
    assert.equal(lock.sharedCount, 1)
    second.release()
    assert.equal(lock.oldestSharedLockTime(), undefined)
  })
})
