import { resolve, join } from 'node:path'

/** Where one pbs-store installation keeps its state, and the run-time directories it shares. */
export interface Installation {
  /** The home directory (`--home`, `PBS_STORE_HOME`, default `./var`). */
  readonly home: string
  /** Config files: `<home>/etc`. */
  readonly etcDir: string
  /** Task logs and the task list: `<home>/log`. */
  readonly logDir: string
  /** Root of the lock files (`PBS_STORE_LOCK_DIR`, default `/run/pbs-store/locks`). */
  readonly lockDir: string
  /** PBS's run dir, where `old-locking` would be (`PBS_STORE_PBS_RUN_DIR`, default `/run/proxmox-backup`). */
  readonly pbsRunDir: string
}

/** Default lock root; point PBS_STORE_LOCK_DIR at /run/proxmox-backup/locks to share locks with PBS. */
export const DEFAULT_LOCK_DIR = '/run/pbs-store/locks'
/** Default PBS run directory (only read, for the `old-locking` marker). */
export const DEFAULT_PBS_RUN_DIR = '/run/proxmox-backup'

/** Resolves the installation from an explicit home (or the environment) and the environment. */
export function resolveInstallation(home?: string, env: NodeJS.ProcessEnv = process.env): Installation {
  const h = resolve(home ?? env.PBS_STORE_HOME ?? './var')
  return {
    home: h,
    etcDir: join(h, 'etc'),
    logDir: join(h, 'log'),
    lockDir: resolve(env.PBS_STORE_LOCK_DIR ?? DEFAULT_LOCK_DIR),
    pbsRunDir: resolve(env.PBS_STORE_PBS_RUN_DIR ?? DEFAULT_PBS_RUN_DIR),
  }
}
