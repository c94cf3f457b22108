/** The task viewer: status, a progress bar with rate and ETA, and the live log. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'

import { followTask, type TaskLogLine, type TaskStatus } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { formatDuration, formatTime } from '../format.js'
import { Dialog } from './dialog.js'
import { DialogFooter } from './dialog-footer.js'
import { ErrorBox } from './error-box.js'
import { statusClass, statusText, taskTitle } from './task-text.js'

/** The dialog. */
export function TaskViewer(props: { upid: string; onClose: () => void }) {
  const { client } = useApp()
  const [status, setStatus] = useState<TaskStatus | undefined>(undefined)
  const [lines, setLines] = useState<TaskLogLine[]>([])
  const [error, setError] = useState<unknown>(undefined)
  const [stopError, setStopError] = useState<unknown>(undefined)
  const logRef = useRef<HTMLPreElement>(null)
  const stick = useRef(true)

  useEffect(() => {
    const ac = new AbortController()
    followTask(client, props.upid, {
      intervalMs: 700,
      signal: ac.signal,
      onLines: (l) => setLines((old) => [...old, ...l]),
      onStatus: setStatus,
    }).catch((e: unknown) => {
      if (!ac.signal.aborted) setError(e)
    })
    return () => ac.abort()
  }, [props.upid])

  useLayoutEffect(() => {
    const el = logRef.current
    if (el && stick.current) el.scrollTop = el.scrollHeight
  }, [lines])

  const running = status === undefined || status.status === 'running'
  const stop = async (): Promise<void> => {
    try {
      await client.stopTask(props.upid)
    } catch (e) {
      setStopError(e)
    }
  }
  return (
    <Dialog
      title={status ? taskTitle(status.type, status.id) : 'Task'}
      onClose={props.onClose}
      wide
      testId="task-viewer"
      footer={
        <DialogFooter error={stopError} errorPrefix="Could not stop:">
          {running && status !== undefined && (
            <button type="button" class="danger" onClick={() => void stop()}>
              Stop
            </button>
          )}
          <button type="button" class="primary" onClick={props.onClose}>
            Close
          </button>
        </DialogFooter>
      }
    >
      <ErrorBox error={error} prefix="Cannot read the task:" />
      {status !== undefined && (
        <dl class="task-facts">
          <dt>Status</dt>
          <dd>
            <span class={`status ${statusClass(running, status.exitstatus)}`} data-testid="task-status">
              {statusText(running, status.exitstatus)}
            </span>
          </dd>
          <dt>User</dt>
          <dd>{status.tokenid !== undefined ? `${status.user}!${status.tokenid}` : status.user}</dd>
          <dt>Started</dt>
          <dd>{formatTime(status.starttime)}</dd>
          {status.endtime !== undefined && (
            <>
              <dt>Duration</dt>
              <dd>{formatDuration(status.endtime - status.starttime)}</dd>
            </>
          )}
        </dl>
      )}
      <Progress status={status} running={running} />
      <pre
        class="task-log"
        ref={logRef}
        data-testid="task-log"
        onScroll={(e) => {
          const el = e.currentTarget
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4
        }}
      >
        {lines.map((l) => l.t).join('\n')}
        {lines.length === 0 && (
          <span class="muted">{running ? 'Waiting for output…' : 'No log output.'}</span>
        )}
      </pre>
    </Dialog>
  )
}

/** Progress bar: done/total with rate and ETA while running; full when finished. */
function Progress(props: { status: TaskStatus | undefined; running: boolean }) {
  const p = props.status?.progress
  if (!props.running) {
    const ok = props.status !== undefined && statusClass(false, props.status.exitstatus) !== 'error'
    return (
      <div class="progress">
        <div
          class={`progress-bar ${ok ? 'done' : 'failed'}`}
          role="progressbar"
          aria-valuenow={100}
          aria-valuemin={0}
          aria-valuemax={100}
        >
          <div class="progress-fill" style={{ width: '100%' }} />
        </div>
        <div class="progress-text">{ok ? 'Finished' : 'Ended with an error'}</div>
      </div>
    )
  }
  if (p === undefined || p.total <= 0) {
    return (
      <div class="progress">
        <div class="progress-bar indeterminate" role="progressbar" aria-busy="true">
          <div class="progress-fill" />
        </div>
        <div class="progress-text">Running…</div>
      </div>
    )
  }
  const pct = Math.min(100, Math.round((p.done / p.total) * 100))
  const unit = p.unit ?? ''
  return (
    <div class="progress" data-testid="task-progress">
      <div class="progress-bar" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div class="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <div class="progress-text">
        {`${p.done} of ${p.total} ${unit} (${pct}%)`}
        {p.rate !== undefined &&
          p.rate > 0 &&
          ` · ${p.rate >= 10 ? Math.round(p.rate) : p.rate.toFixed(1)} ${unit}/s`}
        {typeof p.eta === 'number' && ` · ${formatDuration(p.eta)} left`}
      </div>
    </div>
  )
}
