/* eslint-disable @typescript-eslint/require-await -- task bodies are async functions by contract */
// Worker tasks: UPIDs, PBS log layout and end lines, WARNINGS/ERROR states, progress, abort,
// one task per (type, id), and recovery of tasks a dead process left in `active`.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { formatUpid, parseUpid } from '../../src/api-types/upid.js'
import { ConflictError, StorageError } from '../../src/errors.js'
import { TaskManager, procStartTime, taskLogPath } from '../../src/tasks/index.js'

describe('TaskManager', () => {
  let dir: string
  let tm: TaskManager
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbs-store-tasks-'))
    tm = await TaskManager.open(dir, 'testnode')
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads pstart from /proc', () => {
    assert.ok((procStartTime() ?? 0) > 0)
  })

  it('runs a task: UPID, log under tasks/<HH>/<UPID>, TASK OK, archived', async () => {
    const { upid, done } = await tm.spawn(
      { type: 'demo', id: 'store1:a/b', authid: 'root@pam' },
      async (ctx) => {
        ctx.log.info('hello')
        return 42
      },
    )
    const u = parseUpid(upid)
    assert.equal(u.node, 'testnode')
    assert.equal(u.pid, process.pid)
    assert.equal(u.workerId, 'store1:a/b')
    assert.match(upid, /:demo:store1\\x3aa-b:root@pam:$/)
    assert.equal(await done, 42)
    const path = taskLogPath(join(dir, 'tasks'), upid, u)
    assert.match(path, new RegExp(`/tasks/${(u.pstart & 0xff).toString(16).toUpperCase().padStart(2, '0')}/`))
    const lines = (await readFile(path, 'utf8')).trim().split('\n')
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d: hello$/)
    assert.match(lines[1]!, /: TASK OK$/)
    const st = await tm.status(upid)
    assert.equal(st.running, false)
    assert.equal(st.state?.kind, 'ok')
    const archive = await readFile(join(dir, 'tasks', 'archive'), 'utf8')
    assert.match(archive, new RegExp(`^${upid.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} [0-9A-F]{8} OK$`, 'm'))
    assert.equal((await readFile(join(dir, 'tasks', 'active'), 'utf8')).trim(), '')
  })

  it('counts warnings and records errors', async () => {
    const w = await tm.spawn({ type: 'warn', authid: 'root@pam' }, async (ctx) => {
      ctx.log.warn('one')
      ctx.log.warn('two')
    })
    await w.done
    assert.deepEqual((await tm.status(w.upid)).state?.kind, 'warnings')
    const e = await tm.spawn({ type: 'fail', authid: 'root@pam' }, () =>
      Promise.reject(new StorageError('it broke\nbadly')),
    )
    await assert.rejects(e.done, StorageError)
    const st = await tm.status(e.upid)
    assert.deepEqual(st.state && st.state.kind === 'error' ? st.state.message : '', 'it broke badly')
    const list = await tm.list()
    assert.equal(list[0]!.upid, e.upid)
  })

  it('reports progress and aborts cooperatively; one task per (type, id)', async () => {
    let release: () => void = () => undefined
    const started = new Promise<void>((r) => (release = r))
    const t = await tm.spawn({ type: 'long', id: 'x', authid: 'root@pam', unique: true }, async (ctx) => {
      ctx.onProgress({ done: 1, total: 10, rate: 1, etaSeconds: 9, unit: 'things' })
      release()
      while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5))
      ctx.throwIfAborted()
    })
    await started
    assert.equal((await tm.status(t.upid)).progress?.done, 1)
    assert.throws(
      () => tm.spawn({ type: 'long', id: 'x', authid: 'root@pam', unique: true }, async () => undefined),
      ConflictError,
    )
    assert.equal(tm.abort(t.upid), true)
    await assert.rejects(t.done, /abort requested/)
    const log = await tm.readLog(t.upid, 0, 0)
    assert.ok(log.lines.some((l) => l.t.endsWith('received abort request ...')))
    assert.match(log.lines[log.lines.length - 1]!.t, /TASK ERROR: abort requested/)
    assert.equal(tm.abort(t.upid), false)
  })

  it('readLog pages with 1-based line numbers (start 0 = 1)', async () => {
    const { upid, done } = await tm.spawn({ type: 'lines', authid: 'root@pam' }, async (ctx) => {
      for (let i = 1; i <= 5; i++) ctx.log.info(`line ${i}`)
    })
    await done
    const a = await tm.readLog(upid, 0, 2)
    assert.deepEqual(
      a.lines.map((l) => l.n),
      [1, 2],
    )
    assert.equal(a.total, 6)
    const b = await tm.readLog(upid, 5, 0)
    assert.deepEqual(
      b.lines.map((l) => l.n),
      [5, 6],
    )
  })

  it('archives tasks left running by a dead process, with the state their log shows', async () => {
    const dead = formatUpid({
      node: 'testnode',
      pid: 999999,
      pstart: 1234,
      taskId: 7,
      starttime: 1_700_000_000,
      workerType: 'gone',
      authid: 'root@pam',
    })
    const silent = formatUpid({
      node: 'testnode',
      pid: 999998,
      pstart: 1234,
      taskId: 8,
      starttime: 1_700_000_001,
      workerType: 'silent',
      authid: 'root@pam',
    })
    const path = taskLogPath(join(dir, 'tasks'), dead, parseUpid(dead))
    await mkdir(join(path, '..'), { recursive: true })
    await writeFile(path, '2026-01-01T00:00:00+00:00: start\n2026-01-01T00:00:05+00:00: TASK WARNINGS: 3\n')
    await writeFile(join(dir, 'tasks', 'active'), `${dead}\n${silent}\n`)
    const again = await TaskManager.open(dir, 'testnode')
    const list = await again.list()
    const d = list.find((t) => t.upid === dead)
    assert.deepEqual(d?.state, {
      kind: 'warnings',
      count: 3,
      endtime: Date.parse('2026-01-01T00:00:05Z') / 1000,
    })
    assert.equal(list.find((t) => t.upid === silent)?.state?.kind, 'unknown')
    assert.equal((await readFile(join(dir, 'tasks', 'active'), 'utf8')).trim(), '')
    assert.ok(existsSync(join(dir, 'tasks', 'archive')))
  })

  it('shutdown aborts running tasks and waits for their cleanup', async () => {
    let cleaned = false
    const t = await tm.spawn({ type: 'stopme2', authid: 'root@pam' }, async (ctx) => {
      try {
        while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5))
        ctx.throwIfAborted()
      } finally {
        await new Promise((r) => setTimeout(r, 20))
        cleaned = true
      }
    })
    t.done.catch(() => undefined)
    await tm.shutdown(5000)
    assert.equal(cleaned, true)
    assert.equal((await tm.status(t.upid)).state?.kind, 'error')
  })
})
