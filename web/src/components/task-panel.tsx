/** The task panel: running and recent tasks, newest first; a click opens the task viewer. */
import { useEffect, useState } from 'preact/hooks'

import type { TaskListItem } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { formatDuration, formatTime } from '../format.js'
import { ErrorBox } from './error-box.js'
import { statusClass, statusText, taskTitle } from './task-text.js'

/** The panel; `refreshKey` changes force a reload. */
export function TaskPanel(props: { refreshKey: number }) {
  const { client, openTask } = useApp()
  const [tasks, setTasks] = useState<TaskListItem[] | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [open, setOpen] = useState(true)
  const [tick, setTick] = useState(0)

  useEffect(() => {
    let alive = true
    client
      .listTasks({ limit: 25 })
      .then((r) => {
        if (!alive) return
        setTasks(r.tasks)
        setError(undefined)
      })
      .catch((e: unknown) => {
        if (alive) setError(e)
      })
    return () => {
      alive = false
    }
  }, [props.refreshKey, tick])

  const running = (tasks ?? []).filter((t) => t.endtime === undefined && t.status === undefined).length
  useEffect(() => {
    // Poll faster while something runs, so finished tasks show up promptly.
    const t = setTimeout(() => setTick((n) => n + 1), running > 0 ? 1500 : 5000)
    return () => clearTimeout(t)
  }, [tasks, running, error])

  return (
    <section class={`task-panel${open ? '' : ' closed'}`} aria-label="Tasks">
      <header>
        <button type="button" class="link" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? '▾' : '▸'} Tasks
        </button>
        <span class="muted" data-testid="running-count">
          {running > 0 ? `${running} running` : 'none running'}
        </span>
      </header>
      {open && (
        <div class="task-list">
          <ErrorBox error={error} prefix="Tasks unavailable:" />
          <table class="grid compact">
            <thead>
              <tr>
                <th>Started</th>
                <th>Duration</th>
                <th>Task</th>
                <th>User</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {(tasks ?? []).map((t) => {
                const isRunning = t.status === undefined
                return (
                  <tr
                    key={t.upid}
                    class="clickable"
                    data-upid={t.upid}
                    data-type={t.worker_type}
                    onClick={() => openTask(t.upid)}
                  >
                    <td>{formatTime(t.starttime)}</td>
                    <td>{t.endtime !== undefined ? formatDuration(t.endtime - t.starttime) : ''}</td>
                    <td>{taskTitle(t.worker_type, t.worker_id)}</td>
                    <td>{t.user}</td>
                    <td class="status-cell" title={statusText(isRunning, t.status)}>
                      <span class={`status ${statusClass(isRunning, t.status)}`}>
                        {statusText(isRunning, t.status)}
                      </span>
                    </td>
                  </tr>
                )
              })}
              {tasks !== undefined && tasks.length === 0 && (
                <tr>
                  <td colSpan={5} class="muted">
                    No tasks yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
