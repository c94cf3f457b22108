// Moving groups and namespaces (spec/move.md §2–§3), with dry-run plans and the GC move journal.
export * from './merge-check.js'
export * from './move-group.js'
export * from './move-journal.js'
export * from './move-namespace.js'
export * from './move-plan.js'
