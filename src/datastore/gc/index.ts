/** Garbage collection (spec §7): mark used chunks, sweep the rest, write `.gc-status`. */
export * from './garbage-collect.js'
export { GC_STATUS_FILE, gcStatusJson, type GcStatus } from './gc-status.js'
export type { JournalDrainResult } from './drain-move-journal.js'
