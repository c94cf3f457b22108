/**
 * The app shell: login, then header (user, logout), datastore list, content view of the chosen
 * datastore, task panel and the task viewer. Keeps the ticket fresh and falls back to the login
 * form when the session ends.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'

import {
  ApiClient,
  followTask,
  PbsClient,
  type DatastoreListItem,
  type TaskStatus,
} from '../../src/client/index.js'
import { AppContext, type AppServices } from './app-context.js'
import { ContentView } from './components/content-view.js'
import { DatastoreList } from './components/datastore-list.js'
import { errorText } from './components/error-box.js'
import { LoginView } from './components/login-view.js'
import { TaskPanel } from './components/task-panel.js'
import { TaskViewer } from './components/task-viewer.js'
import { clearSession, loadSession, saveSession } from './session.js'

/** Tickets live 2 h; renewing every 15 min keeps an open UI logged in. */
const RENEW_MS = 15 * 60 * 1000

/** The whole UI. */
export function App() {
  const expired = useRef<(message: string) => void>(() => undefined)
  const client = useMemo(
    () =>
      new PbsClient(
        new ApiClient({
          onUnauthorized: () => expired.current('Your session has ended. Please log in again.'),
        }),
      ),
    [],
  )
  const [user, setUser] = useState<string | undefined>(() => {
    const saved = loadSession()
    if (saved === undefined || saved.kind !== 'ticket') return undefined
    client.api.setCredentials(saved)
    return saved.username
  })
  const [loginMessage, setLoginMessage] = useState<string | undefined>(undefined)
  expired.current = (message: string) => {
    clearSession()
    client.api.setCredentials(undefined)
    setLoginMessage(message)
    setUser(undefined)
  }

  if (user === undefined)
    return (
      <LoginView
        client={client}
        message={loginMessage}
        onLoggedIn={() => {
          const c = client.api.credentials
          if (c?.kind !== 'ticket') return
          saveSession(c.username, c.csrf, c.ticket)
          setLoginMessage(undefined)
          setUser(c.username)
        }}
      />
    )
  return (
    <Shell
      client={client}
      username={user}
      onLogout={() => {
        void client.api.logout()
        clearSession()
        setLoginMessage(undefined)
        setUser(undefined)
      }}
    />
  )
}

/** Everything after login. */
function Shell(props: { client: PbsClient; username: string; onLogout: () => void }) {
  const { client } = props
  const [stores, setStores] = useState<DatastoreListItem[] | undefined>(undefined)
  const [storesError, setStoresError] = useState<unknown>(undefined)
  const [store, setStore] = useState<string | undefined>(
    () => decodeURIComponent(location.hash.slice(1)) || undefined,
  )
  const [viewing, setViewing] = useState<string | undefined>(undefined)
  const [taskRefresh, setTaskRefresh] = useState(0)

  useEffect(() => {
    client
      .listDatastores()
      .then((list) => {
        const sorted = [...list].sort((a, b) => a.store.localeCompare(b.store))
        setStores(sorted)
        setStore((cur) => (cur !== undefined && sorted.some((s) => s.store === cur) ? cur : sorted[0]?.store))
      })
      .catch(setStoresError)
    const renew = setInterval(() => {
      client.api
        .renewTicket()
        .then((t) => saveSession(t.username, t.CSRFPreventionToken, t.ticket))
        .catch(() => undefined)
    }, RENEW_MS)
    return () => clearInterval(renew)
  }, [client])

  useEffect(() => {
    if (store !== undefined) history.replaceState(null, '', `#${encodeURIComponent(store)}`)
  }, [store])

  const services = useMemo<AppServices>(
    () => ({
      client,
      username: props.username,
      openTask: (upid) => setViewing(upid),
      refreshTasks: () => setTaskRefresh((n) => n + 1),
      watchTask: (upid: string, onDone: (s: TaskStatus) => void) => {
        followTask(client, upid, { intervalMs: 800 })
          .then(onDone)
          .catch((e: unknown) => {
            // The outcome is unknown, but the tree must still show the current state.
            onDone({ upid, starttime: 0, type: '', user: '', status: 'stopped', exitstatus: errorText(e) })
          })
          .finally(() => setTaskRefresh((n) => n + 1))
      },
    }),
    [client, props.username],
  )

  return (
    <AppContext.Provider value={services}>
      <div class="shell">
        <header class="topbar">
          <span class="brand">pbs-store</span>
          <span class="spacer" />
          <span class="user" data-testid="current-user">
            {props.username}
          </span>
          <button type="button" onClick={props.onLogout}>
            Log out
          </button>
        </header>
        <div class="main">
          <DatastoreList stores={stores} error={storesError} selected={store} onSelect={setStore} />
          <main class="content">
            {store !== undefined ? (
              <ContentView key={store} store={store} />
            ) : (
              stores !== undefined && <p class="muted pad">Choose a datastore.</p>
            )}
          </main>
        </div>
        <TaskPanel refreshKey={taskRefresh} />
      </div>
      {viewing !== undefined && (
        <TaskViewer key={viewing} upid={viewing} onClose={() => setViewing(undefined)} />
      )}
    </AppContext.Provider>
  )
}
