/**
 * Real things for the web UI tests: a temp installation with one datastore and an admin user,
 * the real `pbs-store serve` process listening on a loopback port and serving the built UI, and a real
 * Chromium (Debian `chromium`, driven by playwright-core). A missing Chromium is a loud failure,
 * never a skip.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

import { chromium, type BrowserContext, type Page } from 'playwright-core'

import { createDatastore, type Datastore } from '../../src/datastore/index.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

/** Where Debian installs Chromium. */
export const CHROMIUM = process.env.PBS_STORE_CHROMIUM ?? '/usr/bin/chromium'

/** The admin the tests log in as. */
export const ADMIN = { user: 'admin@pbs', password: 'admin-password' }

/** Flags from DESIGN.md's browser recipe. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/**
 * The repository root: the first ancestor of this file (or the working directory) holding
 * `web/index.html`. Compiled tests live in `dist/tests/web/`, or elsewhere when built apart.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'web', 'index.html'))) return dir
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  if (existsSync(join(process.cwd(), 'web', 'index.html'))) return process.cwd()
  throw new Error(
    'cannot find the repository root (a directory with web/index.html) above the test or the cwd',
  )
}

/** Newest modification time (ms) of the files below `path` (0 when missing). */
function newestMtime(path: string): number {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = 0
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

/**
 * Builds the UI with Vite when `web/dist` is missing or older than its sources (so a test never
 * checks a stale UI); returns the dist directory.
 */
export function ensureWebBuilt(root = repoRoot()): string {
  const dist = join(root, 'web', 'dist')
  const built = newestMtime(join(dist, 'index.html'))
  const sources = Math.max(
    ...[
      'web/src',
      'web/index.html',
      'web/vite.config.ts',
      'src/client',
      'src/api-types',
      'src/errors.ts',
    ].map((p) => newestMtime(join(root, p))),
  )
  if (built > 0 && built >= sources) return dist
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js')
  execFileSync(
    process.execPath,
    [vite, 'build', '--config', join(root, 'web', 'vite.config.ts'), '--logLevel', 'warn'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
  if (!existsSync(join(dist, 'index.html')))
    throw new Error(`building the web UI did not produce ${dist}/index.html`)
  return dist
}

/** The compiled CLI entry of the build this test belongs to (`<build>/src/cli/main.js`). */
function compiledCliMain(): string {
  // This file is <build>/tests/web/ui-harness.js; the CLI was compiled in the same run.
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
  if (!existsSync(main)) throw new Error(`the compiled CLI is missing at ${main} (did the build run?)`)
  return main
}

/**
 * `pbs-store serve` as a child process on a temp installation with the datastore `store1` and
 * the admin user (created by serve's first start from PBS_STORE_ADMIN_PASSWORD), plain HTTP on a
 * free loopback port. The test process opens the same datastore through the engine to set up
 * and check data (same lock directory, so the locks are shared).
 */
export class UiServer {
  readonly home: TempHome
  readonly store: Datastore
  readonly url: string
  readonly #child: ChildProcess
  readonly #output: () => string

  private constructor(
    home: TempHome,
    store: Datastore,
    child: ChildProcess,
    url: string,
    output: () => string,
  ) {
    this.home = home
    this.store = store
    this.#child = child
    this.url = url
    this.#output = output
  }

  /**
   * Creates the installation and starts the server (about 10 s: the chunk store layout).
   * @param options.web build the UI first when it is missing or stale (default true)
   * @throws Error with the server's output when it does not come up within 60 s
   */
  static async start(options: { web?: boolean } = {}): Promise<UiServer> {
    const webRoot = options.web === false ? undefined : ensureWebBuilt()
    const home = await makeTempHome('pbs-store-ui-')
    let child: ChildProcess | undefined
    try {
      const store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'), {
        comment: 'main datastore',
      })
      const launcher = `import { main } from ${JSON.stringify(pathToFileURL(compiledCliMain()).href)}
process.exitCode = await main([process.argv[0], 'pbs-store', ...process.argv.slice(1)])`
      child = spawn(
        process.execPath,
        ['--input-type=module', '-e', launcher, '--', 'serve', '--listen', '127.0.0.1:0', '--insecure-http'],
        {
          env: {
            ...home.env,
            PBS_STORE_ADMIN_PASSWORD: ADMIN.password,
            // Read by the server once it supports it; until then it serves <package>/web/dist,
            // which is `webRoot` whenever the tests run from the repository's dist/.
            ...(webRoot !== undefined ? { PBS_STORE_WEB_ROOT: webRoot } : {}),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let output = ''
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d))
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d))
      const proc = child
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`pbs-store serve did not start within 60 s:\n${output}`)),
          60_000,
        )
        const check = (): void => {
          const m = /listening on (http:\/\/[^\s]+)/.exec(output)
          if (m) {
            clearTimeout(timer)
            resolve(m[1]!)
          }
        }
        proc.stdout?.on('data', check)
        proc.on('exit', (code) => {
          clearTimeout(timer)
          reject(new Error(`pbs-store serve exited with ${code} before listening:\n${output}`))
        })
      })
      return new UiServer(home, store, proc, url, () => output)
    } catch (e) {
      child?.kill('SIGKILL')
      await home.cleanup()
      throw e
    }
  }

  /** What the server printed so far (for failure messages). */
  get output(): string {
    return this.#output()
  }

  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes the installation. */
  async stop(): Promise<void> {
    const child = this.#child
    try {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
    } finally {
      await this.home.cleanup()
    }
  }
}

/** A Chromium with a fresh profile and one page. */
export class UiBrowser {
  readonly context: BrowserContext
  readonly page: Page
  /** Uncaught page errors and console errors, to assert on. */
  readonly errors: string[] = []
  readonly #profile: string

  private constructor(context: BrowserContext, page: Page, profile: string) {
    this.context = context
    this.page = page
    this.#profile = profile
  }

  /**
   * Launches Chromium.
   * @throws Error naming the missing binary (tests must fail, not skip, without a browser).
   */
  static async launch(): Promise<UiBrowser> {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's 'chromium' package (apt-get install chromium) ` +
          'or set PBS_STORE_CHROMIUM; the web UI tests need a real browser',
      )
    const profile = mkdtempSync(join(tmpdir(), 'pbs-store-chromium-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 860 },
      timezoneId: 'UTC',
      locale: 'en-US',
    })
    const page = context.pages()[0] ?? (await context.newPage())
    const b = new UiBrowser(context, page, profile)
    page.on('pageerror', (e) => b.errors.push(`page error: ${e.message}`))
    page.on('console', (m) => {
      // Refused requests (wrong password, refused previews) are logged by Chromium as resource errors.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        b.errors.push(`console: ${m.text()}`)
    })
    page.setDefaultTimeout(15_000)
    return b
  }

  /** Closes the browser and removes the profile. */
  async close(): Promise<void> {
    try {
      await this.context.close()
    } finally {
      rmSync(this.#profile, { recursive: true, force: true })
    }
  }
}

/**
 * Where screenshots go: `docs/img` when PBS_STORE_SCREENSHOTS=1 (to refresh the README images),
 * otherwise a temp directory (the views are still rendered and captured).
 */
export function screenshotDir(): { dir: string; temporary: boolean } {
  if (process.env.PBS_STORE_SCREENSHOTS === '1')
    return { dir: join(repoRoot(), 'docs', 'img'), temporary: false }
  return { dir: mkdtempSync(join(tmpdir(), 'pbs-store-shots-')), temporary: true }
}
