/** The login form: user (user@realm) and password. */
import { useState } from 'preact/hooks'

import { isApiError, type PbsClient } from '../../../src/client/index.js'
import { useSubmit } from '../use-submit.js'
import { ErrorBox } from './error-box.js'
import { TextField } from './form-field.js'

/** The form; calls onLoggedIn after a successful login. */
export function LoginView(props: {
  client: PbsClient
  message?: string | undefined
  onLoggedIn: () => void
}) {
  const [username, setUsername] = useState('root@pam')
  const [password, setPassword] = useState('')
  const { busy, error, run } = useSubmit()
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    await run(async () => {
      try {
        const name = username.includes('@') ? username : `${username}@pam`
        await props.client.api.login(name, password)
        props.onLoggedIn()
      } catch (err) {
        throw isApiError(err, 401)
          ? new Error(`wrong user name or password (the server said: ${err.message})`)
          : err
      }
    })
  }
  return (
    <main class="login">
      <form class="login-card" onSubmit={(e) => void submit(e)}>
        <h1>
          pbs-store <span class="muted">datastore manager</span>
        </h1>
        {props.message !== undefined && <p class="notice error">{props.message}</p>}
        <TextField
          label="User"
          name="username"
          autocomplete="username"
          value={username}
          onValue={setUsername}
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autocomplete="current-password"
          value={password}
          onValue={setPassword}
        />
        <ErrorBox error={error} prefix="Login failed:" />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  )
}
