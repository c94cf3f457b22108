// The datastore engine: layout, namespaces, groups, snapshots. Knows nothing of HTTP.
export * from './create-datastore.js'
export * from './datastore.js'
export * from './groups.js'
export * from './namespaces.js'
export * from './open-datastore.js'
export * from './snapshots.js'
