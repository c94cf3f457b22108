/**
 * Worker tasks (spec/pbs-api.md §5, DESIGN.md "Tasks and the API").
 *
 * A task gets a PBS UPID at once, writes its log under `<logDir>/tasks/<HH>/<UPID>`, and is listed
 * in `tasks/active` while it runs; when it ends its final line is written to the log and its entry
 * moves to `tasks/archive` as `<UPID> <ENDTIME %08X> <status>`. Both files live on disk, so the task
 * list survives restarts; a task left in `active` by a dead process is archived on the next open
 * with the state its log shows (or `unknown`). Writers of the two files hold `tasks/.active.lock`.
 *
 * Abort is cooperative: each task has an AbortController whose signal the engine checks in its
 * loops. At most one task per (type, id) runs at a time when the spawner asks for it.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'

import { formatUpid, parseUpid, type Upid } from '../api-types/upid.js'
import { AbortedError, ConflictError, NotFoundError, errorMessage } from '../errors.js'
import { withLock } from '../lock/index.js'
import type { ProgressReport } from '../datastore/operation-context.js'
import { procStartTime } from './proc-start-time.js'
import type { TaskContext } from './task-context.js'
import {
  formatLocalRfc3339,
  formatTaskState,
  parseTaskStateText,
  readTaskStateFromLog,
  taskLogPath,
  type TaskState,
} from './task-log.js'

/** What to start. */
export interface TaskSpec {
  /** Worker type, e.g. `move-group`. */
  type: string
  /** Worker id (unescaped), e.g. `store1:a/vm/100:b`. */
  id?: string | undefined
  /** Who starts it. */
  authid: string
  /** Refuse to start while a task with the same type and id runs. */
  unique?: boolean
}

/** A task as listed. */
export interface TaskEntry {
  upid: string
  parsed: Upid
  running: boolean
  /** Final state (finished tasks only). */
  state?: TaskState
}

/** The status of one task. */
export interface TaskStatus extends TaskEntry {
  /** Progress of a running task (done/total, rate per second, ETA in seconds). */
  progress?: ProgressReport
}

/** A started task. */
export interface StartedTask<T> {
  upid: string
  /** Settles when the task ends (rejects with its error). */
  done: Promise<T>
}

interface RunningTask {
  upid: string
  parsed: Upid
  controller: AbortController
  progress: ProgressReport | undefined
  done: Promise<unknown>
  key: string
  /** Writes a line to the task log (synchronously, so lines keep their order). */
  write: (message: string) => void
}

/** Per-process task counter (UPID TASKID), shared by every manager in the process. */
let taskCounter = 0

/** The short host name as a UPID node (letters, digits, inner '-'). */
export function nodeName(): string {
  const short = (hostname().split('.')[0] ?? '').replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '')
  return short === '' ? 'localhost' : short
}

/** Runs and records worker tasks of one installation. */
export class TaskManager {
  /** `<logDir>/tasks` */
  readonly tasksDir: string
  readonly node: string
  readonly #pstart: number
  readonly #running = new Map<string, RunningTask>()
  #chain: Promise<unknown> = Promise.resolve()

  private constructor(logDir: string, node: string) {
    this.tasksDir = join(logDir, 'tasks')
    this.node = node
    this.#pstart = procStartTime() ?? Math.floor(performance.timeOrigin / 10)
  }

  /** Opens the task directory and archives tasks a dead process left in `active`. */
  static async open(logDir: string, node = nodeName()): Promise<TaskManager> {
    const m = new TaskManager(logDir, node)
    await mkdir(m.tasksDir, { recursive: true, mode: 0o755 })
    await m.#recover()
    return m
  }

  /**
   * Starts `fn` as a task and returns its UPID at once.
   * @throws ConflictError when `unique` and a task with the same type and id is running.
   */
  spawn<T>(spec: TaskSpec, fn: (ctx: TaskContext) => Promise<T>): Promise<StartedTask<T>> {
    const key = `${spec.type}\0${spec.id ?? ''}`
    if (spec.unique) {
      for (const t of this.#running.values())
        if (t.key === key)
          throw new ConflictError(
            `task '${spec.type}'${spec.id ? ` for '${spec.id}'` : ''} is already running (${t.upid})`,
            { upid: t.upid },
          )
    }
    const parsed: Upid = {
      node: this.node,
      pid: process.pid,
      pstart: this.#pstart,
      taskId: taskCounter++,
      starttime: Math.floor(Date.now() / 1000),
      workerType: spec.type,
      workerId: spec.id === '' ? undefined : spec.id,
      authid: spec.authid,
    }
    const upid = formatUpid(parsed)
    const logPath = taskLogPath(this.tasksDir, upid, parsed)
    mkdirSync(join(logPath, '..'), { recursive: true, mode: 0o755 })
    const fd = openSync(logPath, 'a', 0o644)
    const controller = new AbortController()
    let warnings = 0
    const write = (message: string): void => {
      const stamp = formatLocalRfc3339()
      // One line per message: a multi-line message must not forge a TASK line.
      for (const line of message.split('\n')) writeSync(fd, `${stamp}: ${line}\n`)
    }
    const running: RunningTask = {
      upid,
      parsed,
      controller,
      progress: undefined,
      done: Promise.resolve(),
      key,
      write,
    }
    const ctx: TaskContext = {
      upid,
      signal: controller.signal,
      log: {
        info: (m) => write(m),
        warn: (m) => {
          warnings++
          write(m)
        },
      },
      onProgress: (p) => {
        running.progress = p
      },
      throwIfAborted: () => {
        if (controller.signal.aborted) throw abortError(controller.signal)
      },
      get warnings() {
        return warnings
      },
    }
    this.#running.set(upid, running)
    const done = (async (): Promise<T> => {
      await this.#serial(() => this.#addActive(upid))
      let state!: TaskState
      try {
        const result = await fn(ctx)
        state =
          warnings > 0
            ? { kind: 'warnings', count: warnings, endtime: nowSeconds() }
            : { kind: 'ok', endtime: nowSeconds() }
        return result
      } catch (e) {
        const message = (
          e instanceof AbortedError && controller.signal.aborted
            ? `${errorMessage(e)} (abort requested)`
            : errorMessage(e)
        ).replace(/[\r\n]+/g, ' ')
        state = { kind: 'error', message, endtime: nowSeconds() }
        throw e
      } finally {
        // `state` is always assigned here: either branch above set it before leaving.
        const final = state
        write(final.kind === 'error' ? `TASK ERROR: ${final.message}` : `TASK ${formatTaskState(final)}`)
        closeSync(fd)
        this.#running.delete(upid)
        await this.#serial(() => this.#archive(upid, final)).catch(() => undefined)
      }
    })()
    running.done = done.catch(() => undefined)
    return Promise.resolve({ upid, done })
  }

  /** Requests abort of a running task; false when it is not running here. */
  abort(upid: string): boolean {
    const t = this.#running.get(upid)
    if (!t) return false
    if (!t.controller.signal.aborted) {
      t.write('received abort request ...')
      t.controller.abort(new AbortedError('abort requested - aborting task', { upid }))
    }
    return true
  }

  /** True while the task runs in this process. */
  isRunning(upid: string): boolean {
    return this.#running.has(upid)
  }

  /** Waits until a running task has ended (no-op for others). */
  async waitFor(upid: string): Promise<void> {
    await this.#running.get(upid)?.done
  }

  /** Status of a task (running or finished). @throws ValidationError (bad UPID) */
  async status(upid: string): Promise<TaskStatus> {
    const parsed = parseUpid(upid, 'upid')
    const r = this.#running.get(upid)
    if (r) return { upid, parsed, running: true, ...(r.progress ? { progress: r.progress } : {}) }
    const state = await readTaskStateFromLog(taskLogPath(this.tasksDir, upid, parsed), parsed.starttime)
    return { upid, parsed, running: false, state }
  }

  /**
   * Reads log lines: numbers are 1-based; `start` 0 and 1 are the same; `limit` 0 = to the end.
   * @throws NotFoundError when there is no log file.
   */
  async readLog(
    upid: string,
    start = 0,
    limit = 50,
  ): Promise<{ lines: { n: number; t: string }[]; total: number }> {
    const parsed = parseUpid(upid, 'upid')
    let text: string
    try {
      text = await readFile(taskLogPath(this.tasksDir, upid, parsed), 'utf8')
    } catch (e) {
      throw new NotFoundError(`task log of '${upid}' not found - ${errorMessage(e)}`, { upid })
    }
    const all = text.split('\n')
    if (all[all.length - 1] === '') all.pop()
    const first = Math.max(start, 1)
    const end = limit === 0 ? all.length : Math.min(all.length, first - 1 + limit)
    const lines: { n: number; t: string }[] = []
    for (let i = first - 1; i < end; i++) lines.push({ n: i + 1, t: all[i]! })
    return { lines, total: all.length }
  }

  /** All tasks: running ones first (newest start first), then the archive, newest entry first. */
  async list(): Promise<TaskEntry[]> {
    const running = [...this.#running.values()]
      .sort((a, b) => b.parsed.starttime - a.parsed.starttime || b.parsed.taskId - a.parsed.taskId)
      .map((t) => ({ upid: t.upid, parsed: t.parsed, running: true }))
    const finished: TaskEntry[] = []
    for (const line of (await readText(join(this.tasksDir, 'archive'))).split('\n').reverse()) {
      const e = parseArchiveLine(line)
      if (e) finished.push(e)
    }
    // Finished tasks of this or a dead process that are not archived yet (rare: a crash mid-write).
    for (const line of (await readText(join(this.tasksDir, 'active'))).split('\n')) {
      const e = parseArchiveLine(line)
      if (e && !finished.some((f) => f.upid === e.upid)) finished.unshift(e)
    }
    return [...running, ...finished]
  }

  /** Aborts every running task and waits (up to `timeoutMs`) for them to finish their cleanup. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    const all = [...this.#running.values()]
    for (const t of all) this.abort(t.upid)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(all.map((t) => t.done)),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs)
      }),
    ])
    clearTimeout(timer)
  }

  /** Serialises updates of `active`/`archive` in this process; the flock covers other processes. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(() =>
      withLock(
        join(this.tasksDir, '.active.lock'),
        { mode: 'exclusive', timeoutMs: 10_000, what: 'task list' },
        fn,
      ),
    )
    this.#chain = next.catch(() => undefined)
    return next
  }

  async #addActive(upid: string): Promise<void> {
    await appendFile(join(this.tasksDir, 'active'), `${upid}\n`, { mode: 0o644 })
  }

  async #archive(upid: string, state: TaskState): Promise<void> {
    const activePath = join(this.tasksDir, 'active')
    const lines = (await readText(activePath)).split('\n').filter((l) => l !== '' && l.split(' ')[0] !== upid)
    await appendFile(join(this.tasksDir, 'archive'), `${archiveLine(upid, state)}\n`, { mode: 0o644 })
    await writeFile(activePath, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o644 })
  }

  /** Archives tasks of dead processes left in `active` (with the state their log shows). */
  async #recover(): Promise<void> {
    await this.#serial(async () => {
      const activePath = join(this.tasksDir, 'active')
      const keep: string[] = []
      const archived: string[] = []
      for (const line of (await readText(activePath)).split('\n')) {
        if (line.trim() === '') continue
        const [upid = '', end] = line.split(' ')
        let parsed: Upid
        try {
          parsed = parseUpid(upid)
        } catch {
          continue // garbage line: drop it
        }
        if (end !== undefined) {
          archived.push(line)
          continue
        }
        const alive = parsed.pid !== process.pid && procStartTime(parsed.pid) === parsed.pstart
        if (alive) {
          keep.push(line)
          continue
        }
        const state = await readTaskStateFromLog(taskLogPath(this.tasksDir, upid, parsed), parsed.starttime)
        archived.push(archiveLine(upid, state))
      }
      if (archived.length > 0) await appendFile(join(this.tasksDir, 'archive'), `${archived.join('\n')}\n`)
      await writeFile(activePath, keep.length ? `${keep.join('\n')}\n` : '', { mode: 0o644 })
    })
  }
}

function archiveLine(upid: string, state: TaskState): string {
  return `${upid} ${state.endtime.toString(16).toUpperCase().padStart(8, '0')} ${formatTaskState(state)}`
}

function parseArchiveLine(line: string): TaskEntry | undefined {
  const first = line.indexOf(' ')
  if (first < 0) return undefined
  const second = line.indexOf(' ', first + 1)
  if (second < 0) return undefined
  const upid = line.slice(0, first)
  const end = parseInt(line.slice(first + 1, second), 16)
  try {
    const parsed = parseUpid(upid)
    return { upid, parsed, running: false, state: parseTaskStateText(line.slice(second + 1), end) }
  } catch {
    return undefined
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return ''
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortedError('abort requested - aborting task')
}
