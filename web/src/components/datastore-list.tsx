/** The datastore list in the sidebar, each with its usage. */
import { useEffect, useState } from 'preact/hooks'

import type { DatastoreListItem, DatastoreStatus } from '../../../src/client/index.js'
import { useApp } from '../app-context.js'
import { formatBytes } from '../format.js'
import { ErrorBox } from './error-box.js'

/** The list; `selected` is highlighted, a click selects. */
export function DatastoreList(props: {
  stores: DatastoreListItem[] | undefined
  error: unknown
  selected: string | undefined
  onSelect: (store: string) => void
}) {
  return (
    <nav class="datastores" aria-label="Datastores">
      <h2>Datastores</h2>
      <ErrorBox error={props.error} prefix="Could not list the datastores:" />
      {props.stores?.length === 0 && <p class="muted">No datastores visible to you.</p>}
      <ul>
        {(props.stores ?? []).map((s) => (
          <li key={s.store}>
            <button
              type="button"
              class={`store${props.selected === s.store ? ' active' : ''}`}
              aria-current={props.selected === s.store ? 'page' : undefined}
              data-store={s.store}
              onClick={() => props.onSelect(s.store)}
            >
              <span class="store-title">
                {s.store}
                {s['backend-type'] !== undefined && <span class="badge">{s['backend-type']}</span>}
              </span>
              {s.comment !== undefined && s.comment !== null && s.comment !== '' && (
                <span class="store-comment">{s.comment}</span>
              )}
              {s.maintenance !== undefined && <span class="badge warn">maintenance</span>}
              <Usage store={s.store} />
            </button>
          </li>
        ))}
      </ul>
    </nav>
  )
}

/** Usage bar of one store (quietly absent when the status cannot be read). */
function Usage(props: { store: string }) {
  const { client } = useApp()
  const [status, setStatus] = useState<DatastoreStatus | undefined>(undefined)
  const [failed, setFailed] = useState(false)
  useEffect(() => {
    client
      .datastoreStatus(props.store)
      .then(setStatus)
      .catch(() => setFailed(true))
  }, [props.store])
  if (failed) return <span class="usage muted">usage unavailable</span>
  if (status === undefined || !(status.total > 0)) return <span class="usage muted"> </span>
  const pct = Math.round((status.used / status.total) * 100)
  return (
    <span class="usage" title={`${formatBytes(status.avail)} available`}>
      <span class={`usage-bar${pct >= 90 ? ' full' : ''}`}>
        <span class="usage-fill" style={{ width: `${pct}%` }} />
      </span>
      <span class="usage-text">{`${formatBytes(status.used)} of ${formatBytes(status.total)} (${pct}%)`}</span>
    </span>
  )
}
