/** Busy flag and error of a form's one action (submit, save, delete). */
import { useState } from 'preact/hooks'

/** What useSubmit returns. */
export interface Submit {
  /** True from the start of `run` until it fails (on success the caller usually closes). */
  busy: boolean
  /** The error of the last failed run, or one set with setError. */
  error: unknown
  setError: (error: unknown) => void
  /** Clears the error and runs `action`; a throw becomes the error and ends busy. */
  run: (action: () => Promise<void>) => Promise<void>
}

/** The hook. */
export function useSubmit(): Submit {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const run = async (action: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (e) {
      setError(e)
      setBusy(false)
    }
  }
  return { busy, error, setError, run }
}
