// Typed API client (fetch only, no node: imports): used by the web UI and the CLI's remote mode.
export * from './access-client.js'
export * from './api-client.js'
export * from './api-error.js'
export * from './pbs-client.js'
export * from './response-types.js'
export * from './task-follower.js'
