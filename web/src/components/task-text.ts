/** Task descriptions and status words for people. */
import { taskSucceeded } from '../../../src/client/index.js'

const TYPE_NAMES: Record<string, string> = {
  'move-group': 'Move group',
  'move-namespace': 'Move namespace',
  garbage_collection: 'Garbage collection',
  verify: 'Verify',
  verify_group: 'Verify group',
  verify_snapshot: 'Verify snapshot',
  prune: 'Prune',
  'delete-namespace': 'Delete namespace',
  backup: 'Backup',
}

/** "Move group store1:a/vm/100:b" style description. */
export function taskTitle(type: string, id: string | null | undefined): string {
  const name = TYPE_NAMES[type] ?? type
  return id === null || id === undefined || id === '' ? name : `${name} ${id}`
}

/** Status class for styling: running, ok, warning, error. */
export function statusClass(running: boolean, exitstatus: string | undefined): string {
  if (running) return 'running'
  if (exitstatus === 'OK') return 'ok'
  if (taskSucceeded(exitstatus)) return 'warning'
  return 'error'
}

/** Status for people. */
export function statusText(running: boolean, exitstatus: string | undefined): string {
  if (running) return 'running'
  if (exitstatus === undefined || exitstatus === '') return 'unknown'
  if (exitstatus === 'OK') return 'OK'
  if (taskSucceeded(exitstatus)) return exitstatus.toLowerCase()
  return `Error: ${exitstatus}`
}
