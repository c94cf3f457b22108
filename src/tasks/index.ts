// Worker tasks: UPIDs, task logs, status with progress, abort, the persistent task list.
export * from './proc-start-time.js'
export * from './task-context.js'
export * from './task-log.js'
export * from './task-manager.js'
