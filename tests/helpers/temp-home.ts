import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { resolveInstallation, type Installation } from '../../src/config/installation.js'

/** A throw-away installation: home, lock dir and PBS run dir all inside one temp directory. */
export interface TempHome {
  dir: string
  installation: Installation
  /** Environment for child processes (CLI) that points at the same installation. */
  env: NodeJS.ProcessEnv
  cleanup(): Promise<void>
}

/** Creates a temp installation; call cleanup() when done. */
export async function makeTempHome(prefix = 'pbs-store-test-'): Promise<TempHome> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const env = {
    ...process.env,
    PBS_STORE_HOME: join(dir, 'home'),
    PBS_STORE_LOCK_DIR: join(dir, 'locks'),
    PBS_STORE_PBS_RUN_DIR: join(dir, 'pbs-run'),
  }
  return {
    dir,
    env,
    installation: resolveInstallation(undefined, env),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}
