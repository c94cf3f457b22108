/**
 * Child process for lock-contention tests: takes one lock, prints "LOCKED <pid>", holds it until stdin
 * closes (then releases and exits 0) or it is killed. Prints "BUSY <message>" and exits 3 if the lock
 * is taken. Usage: node lock-holder.js flock <file> <exclusive|shared>
 *                  node lock-holder.js fcntl <datastore-base> <exclusive|shared>
 */
import { acquireFileLock } from '../../src/lock/file-lock.js'
import { processLockFor } from '../../src/lock/process-lock.js'

const [kind, target, mode] = process.argv.slice(2)
if ((kind !== 'flock' && kind !== 'fcntl') || !target || (mode !== 'exclusive' && mode !== 'shared')) {
  process.stderr.write('usage: lock-holder <flock|fcntl> <path> <exclusive|shared>\n')
  process.exit(2)
}

let release: () => void | Promise<void>
try {
  if (kind === 'flock') {
    const guard = await acquireFileLock(target, { mode, timeoutMs: 0, what: `test lock '${target}'` })
    release = () => guard.release()
  } else {
    const lock = processLockFor(target)
    const guard = mode === 'shared' ? lock.tryShared() : lock.tryExclusive()
    release = () => guard.release()
  }
} catch (e) {
  process.stdout.write(`BUSY ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(3)
}

process.stdout.write(`LOCKED ${process.pid}\n`)
process.stdin.on('data', () => {})
process.stdin.on('end', () => {
  void Promise.resolve(release()).then(() => process.exit(0))
})
