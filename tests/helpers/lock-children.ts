/** Test helpers that run lock holders in real child processes (ours, util-linux flock, python fcntl). */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const HOLDER = fileURLToPath(new URL('./lock-holder.js', import.meta.url))

/** A child process that printed a readiness line and holds a lock. */
export interface HeldLock {
  child: ChildProcess
  pid: number
  /** Close the child's stdin (it releases and exits) and wait for the exit. */
  release(): Promise<void>
  /** SIGKILL (the whole process group when it is a group leader) and wait for the exit. */
  kill(): Promise<void>
}

/** Run `cmd args` and resolve once stdout shows a line starting with `ready`; rejects on early exit. */
export async function spawnHolder(cmd: string, args: readonly string[], ready = 'LOCKED'): Promise<HeldLock> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
  const exited = once(child, 'exit')
  let out = ''
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  await new Promise<void>((resolve, reject) => {
    const onData = (d: string) => {
      out += d
      if (out.split('\n').some((l) => l.startsWith(ready))) {
        child.stdout.off('data', onData)
        child.off('exit', onExit)
        resolve()
      }
    }
    const onExit = (code: number | null) =>
      reject(new Error(`lock holder exited (${code}) before ready: ${out} ${err}`))
    child.stdout.setEncoding('utf8').on('data', onData)
    child.on('exit', onExit)
  })
  const pid = child.pid!
  return {
    child,
    pid,
    async release() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end()
        await exited
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
        await exited
      }
    },
  }
}

/** Our own lock-holder helper (flock lock file or fcntl process lock) in a separate node process. */
export function spawnNodeHolder(
  kind: 'flock' | 'fcntl',
  target: string,
  mode: 'exclusive' | 'shared',
): Promise<HeldLock> {
  return spawnHolder(process.execPath, [HOLDER, kind, target, mode])
}

const PY_HOLD = [
  'import fcntl, os, sys',
  "f = open(sys.argv[1], 'a+')",
  "fcntl.lockf(f, (fcntl.LOCK_EX if sys.argv[2] == 'exclusive' else fcntl.LOCK_SH) | fcntl.LOCK_NB)",
  "print('LOCKED', os.getpid(), flush=True)",
  'sys.stdin.read()',
].join('\n')

/** python3 holding an fcntl record lock (lockf) on `file`, standing in for a PBS daemon. */
export function spawnPythonFcntlHolder(file: string, mode: 'exclusive' | 'shared'): Promise<HeldLock> {
  return spawnHolder('python3', ['-c', PY_HOLD, file, mode])
}

const PY_PROBE = [
  'import fcntl, sys',
  "f = open(sys.argv[1], 'a+')",
  'try:',
  "    fcntl.lockf(f, (fcntl.LOCK_EX if sys.argv[2] == 'exclusive' else fcntl.LOCK_SH) | fcntl.LOCK_NB)",
  'except OSError:',
  '    sys.exit(1)',
].join('\n')

/** Can another process take an fcntl lock of `mode` on `file` right now? (python3 lockf, non-blocking) */
export async function pythonCanFcntl(file: string, mode: 'exclusive' | 'shared'): Promise<boolean> {
  const child = spawn('python3', ['-c', PY_PROBE, file, mode], { stdio: 'ignore' })
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0 && code !== 1) throw new Error(`python probe failed with ${code}`)
  return code === 0
}

/** Can util-linux flock(1) take `mode` on `file` right now (non-blocking)? */
export async function flockCommandCan(file: string, mode: 'exclusive' | 'shared'): Promise<boolean> {
  const child = spawn('flock', ['-n', mode === 'exclusive' ? '-x' : '-s', file, 'true'], { stdio: 'ignore' })
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0 && code !== 1) throw new Error(`flock(1) failed with ${code}`)
  return code === 0
}
