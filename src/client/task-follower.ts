/**
 * Follows a worker task until it stops: polls its status (with progress) and streams new log
 * lines. Used by the web UI's task viewer and sequential multi-group moves, and by the CLI in
 * remote mode.
 */
import type { PbsClient } from './pbs-client.js'
import type { TaskLogLine, TaskStatus } from './response-types.js'

/** Callbacks and tuning for followTask. */
export interface FollowTaskOptions {
  /** New log lines, in order, each line once. */
  onLines?: (lines: TaskLogLine[]) => void
  /** Every status poll (progress while running, the final status last). */
  onStatus?: (status: TaskStatus) => void
  /** Poll interval in ms (default 500). */
  intervalMs?: number
  /** Stops following (not the task) when aborted. */
  signal?: AbortSignal
}

/** True when a finished task's exit status means success (OK or only warnings). */
export function taskSucceeded(exitstatus: string | undefined): boolean {
  return exitstatus === 'OK' || (exitstatus?.startsWith('WARNINGS') ?? false)
}

/**
 * Polls until the task stops and returns its final status (the log is read to its end).
 * @throws ApiError when status or log cannot be read; the signal's reason when aborted.
 */
export async function followTask(
  client: PbsClient,
  upid: string,
  options: FollowTaskOptions = {},
): Promise<TaskStatus> {
  const interval = options.intervalMs ?? 500
  let next = 1
  const readLog = async (): Promise<void> => {
    const page = await client.taskLog(upid, next, 0)
    const fresh = page.lines.filter((l) => l.n >= next)
    if (fresh.length > 0) {
      next = (fresh[fresh.length - 1]?.n ?? next) + 1
      options.onLines?.(fresh)
    }
  }
  for (;;) {
    options.signal?.throwIfAborted()
    const status = await client.taskStatus(upid)
    await readLog()
    options.onStatus?.(status)
    if (status.status === 'stopped') return status
    await sleep(interval, options.signal)
  }
}

/** setTimeout as a promise that rejects when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error)
      return
    }
    const onAbort = (): void => {
      clearTimeout(t)
      reject(signal?.reason as Error)
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
