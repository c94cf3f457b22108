import type { FastifyBaseLogger } from 'fastify'

import type { AccessConfig } from '../config/access-config.js'
import type { Installation } from '../config/installation.js'
import type { TaskManager } from '../tasks/task-manager.js'
import type { AuthKeys } from './auth-keys.js'
import type { Authenticator } from './authenticate.js'

/** Everything a route handler needs from the running server. */
export interface ServerContext {
  installation: Installation
  access: AccessConfig
  tasks: TaskManager
  keys: AuthKeys
  auth: Authenticator
  /** Delay before answering a failed authentication (PBS: 3 s, against password guessing). */
  authFailureDelayMs: number
  /** Delay before answering a route-level permission failure (PBS: 0.5 s). */
  permissionDeniedDelayMs: number
  /** Server log (never gets secrets). */
  log: FastifyBaseLogger
}
