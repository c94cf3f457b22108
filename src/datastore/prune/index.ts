// Prune: retention options, the pure selection (spec §10) and its execution on a datastore.
export * from './compute-prune-info.js'
export * from './keep-options.js'
export * from './pbs-prune-json.js'
export * from './prune-group.js'
export * from './selector-id.js'
