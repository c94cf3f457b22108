/** The login form: user (user@realm) and password. */
import { useState } from 'preact/hooks'

import { isApiError, type PbsClient } from '../../../src/client/index.js'
import { ErrorBox } from './error-box.js'

/** The form; calls onLoggedIn after a successful login. */
export function LoginView(props: {
  client: PbsClient
  message?: string | undefined
  onLoggedIn: () => void
}) {
  const [username, setUsername] = useState('root@pam')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const name = username.includes('@') ? username : `${username}@pam`
      await props.client.api.login(name, password)
      props.onLoggedIn()
    } catch (err) {
      setError(
        isApiError(err, 401)
          ? new Error(`wrong user name or password (the server said: ${err.message})`)
          : err,
      )
      setBusy(false)
    }
  }
  return (
    <main class="login">
      <form class="login-card" onSubmit={(e) => void submit(e)}>
        <h1>
          pbs-store <span class="muted">datastore manager</span>
        </h1>
        {props.message !== undefined && <p class="notice error">{props.message}</p>}
        <label>
          <span>User</span>
          <input
            type="text"
            name="username"
            autocomplete="username"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          <span>Password</span>
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorBox error={error} prefix="Login failed:" />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  )
}
