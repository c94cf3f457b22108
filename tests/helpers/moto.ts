/**
 * A real S3 server for tests: moto, in memory, on a free loopback port.
 *
 * Where moto comes from, first match wins:
 *   1. PBS_STORE_TEST_S3_ENDPOINT: one already running for the whole test run (scripts/run-tests.mjs);
 *   2. `moto_server` on PATH;
 *   3. a `python3` that can `import moto.server`;
 *   4. `../shared/tools/moto-server` next to the repository (Debian packages kept there).
 * No moto at all is an error, never a skip: S3 behaviour must be tested against S3.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'

import { S3ObjectStore, type S3ObjectStoreOptions } from '../../src/backend/s3/index.js'

/** Environment variable naming an S3 endpoint that is already running. */
export const TEST_S3_ENDPOINT_ENV = 'PBS_STORE_TEST_S3_ENDPOINT'
/** Credentials moto accepts (any work; these are not secrets). */
export const MOTO_ACCESS_KEY = 'testing'
export const MOTO_SECRET_KEY = 'testing-secret'
/** Region the test buckets are created in. */
export const MOTO_REGION = 'us-west-1'

/** A running moto (or the shared one): its base URL and how to stop it. */
export interface MotoServer {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string
  /** How it was found, for messages. */
  source: string
  /** Stops a moto this call started; a no-op for a shared one. */
  stop(): Promise<void>
}

interface Candidate {
  source: string
  command: string
  args: (port: number) => string[]
}

/**
 * Returns the shared moto when PBS_STORE_TEST_S3_ENDPOINT is set, else starts one.
 * @throws Error listing what was tried, when no moto could be started.
 */
export async function startMoto(options: { timeoutMs?: number } = {}): Promise<MotoServer> {
  const shared = process.env[TEST_S3_ENDPOINT_ENV]
  if (shared !== undefined && shared !== '') {
    return {
      endpoint: shared.replace(/\/$/, ''),
      source: TEST_S3_ENDPOINT_ENV,
      stop: () => Promise.resolve(),
    }
  }
  const tried: string[] = []
  for (const candidate of motoCandidates()) {
    try {
      return await launch(candidate, options.timeoutMs ?? 60_000)
    } catch (e) {
      tried.push(`${candidate.source}: ${(e as Error).message}`)
    }
  }
  throw new Error(
    `no S3 test server (moto) available - set ${TEST_S3_ENDPOINT_ENV}, put moto_server on PATH, ` +
      `install moto for python3 (pip install 'moto[server]'), or provide ../shared/tools/moto-server. ` +
      `Tried: ${tried.length === 0 ? 'nothing found' : tried.join('; ')}`,
  )
}

/** The ways to run moto on this machine, in order of preference. */
function motoCandidates(): Candidate[] {
  const out: Candidate[] = []
  const onPath = findOnPath('moto_server')
  if (onPath !== undefined)
    out.push({ source: onPath, command: onPath, args: (p) => ['-H', '127.0.0.1', '-p', String(p)] })
  const python = findOnPath('python3')
  if (
    python !== undefined &&
    spawnSync(python, ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0
  )
    out.push({
      source: `${python} -m moto.server`,
      command: python,
      args: (p) => ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(p)],
    })
  const script = findSharedScript()
  if (script !== undefined) out.push({ source: script, command: script, args: (p) => [String(p)] })
  return out
}

/** `<repo>/../shared/tools/moto-server`, searching upwards from this file (compiled anywhere) and the cwd. */
function findSharedScript(): string | undefined {
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()]
  for (const start of starts) {
    let dir = resolve(start)
    for (;;) {
      const candidate = join(dir, '..', 'shared', 'tools', 'moto-server')
      if (dir !== '/' && existsSync(join(dir, 'package.json')) && isExecutable(candidate))
        return resolve(candidate)
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return undefined
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const p = join(dir, name)
    if (isExecutable(p)) return p
  }
  return undefined
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** A free TCP port on loopback (released right before moto binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolvePort(port))
    })
  })
}

async function launch(candidate: Candidate, timeoutMs: number): Promise<MotoServer> {
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  // Own process group, so stop() also ends wrapper scripts' children.
  const child = spawn(candidate.command, candidate.args(port), {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  let exited: string | undefined
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`
  })
  child.once('error', (e) => {
    exited = e.message
  })
  const killOnExit = (): void => killGroup(child, 'SIGKILL')
  process.once('exit', killOnExit)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      process.removeListener('exit', killOnExit)
      throw new Error(`${exited}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
    }
    try {
      const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      return {
        endpoint,
        source: candidate.source,
        stop: async () => {
          process.removeListener('exit', killOnExit)
          await stopChild(child)
        },
      }
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  process.removeListener('exit', killOnExit)
  await stopChild(child)
  throw new Error(`did not answer on ${endpoint} within ${timeoutMs} ms`)
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal)
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const done = new Promise<void>((r) => child.once('exit', () => r()))
  killGroup(child, 'SIGTERM')
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
  await done
  clearTimeout(timer)
}

/** A fresh, valid, random bucket name (tests never share buckets). */
export function randomBucketName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`
}

/** Creates a bucket with a random name on the endpoint and returns the name. */
export async function createTestBucket(endpoint: string, name = randomBucketName()): Promise<string> {
  const client = new S3Client({
    endpoint,
    region: MOTO_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: MOTO_ACCESS_KEY, secretAccessKey: MOTO_SECRET_KEY },
  })
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: name,
        CreateBucketConfiguration: { LocationConstraint: MOTO_REGION },
      }),
    )
  } finally {
    client.destroy()
  }
  return name
}

/** An S3ObjectStore for a test bucket (path style, moto credentials); `overrides` win. */
export function testObjectStore(
  endpoint: string,
  bucket: string,
  overrides: Partial<S3ObjectStoreOptions> = {},
): S3ObjectStore {
  return new S3ObjectStore({
    endpoint,
    bucket,
    accessKey: MOTO_ACCESS_KEY,
    secretKey: MOTO_SECRET_KEY,
    region: MOTO_REGION,
    pathStyle: true,
    prefix: 'store1',
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 200,
    ...overrides,
  })
}
