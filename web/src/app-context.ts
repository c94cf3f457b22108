/** What every view needs from the app shell: the API client and the task machinery. */
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'

import type { PbsClient, TaskStatus } from '../../src/client/index.js'

/** The app-wide services. */
export interface AppServices {
  client: PbsClient
  /** Logged-in user (auth id). */
  username: string
  /** Opens the task viewer (live log, progress) for a task. */
  openTask: (upid: string) => void
  /** Calls `onDone` once the task has stopped, whether or not its viewer is open. */
  watchTask: (upid: string, onDone: (status: TaskStatus) => void) => void
  /** Refreshes the task panel now (after starting a task). */
  refreshTasks: () => void
}

/** React-style context carrying AppServices. */
export const AppContext = createContext<AppServices | undefined>(undefined)

/** The services; throws when used outside the shell (a programming error). */
export function useApp(): AppServices {
  const s = useContext(AppContext)
  if (!s) throw new Error('useApp() used outside <AppContext.Provider>')
  return s
}
