// The kill loop of the crash tests: a real `pbs-store` move process, SIGKILLed after a random
// delay, then checked; an interrupted move is rerun in the same direction (so a kill that split a
// group makes the rerun merge), a completed one flips the direction.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

import { CLI_BIN } from './run-cli.js'
import { prng } from './prng.js'

/** One direction of the moves under test, e.g. namespaces 'src' → 'dst' or group vm/900 'ga' → 'gb'. */
export interface CrashDirection {
  from: string
  to: string
}

/** What a crash loop runs and checks. */
export interface CrashLoopOptions {
  /** SIGKILLs to deliver. */
  kills: number
  seed: number
  /**
   * Kill delays are drawn from [minDelayMs, maxDelayMs), first raised to at least one measured CLI
   * start-up; both bounds shrink when runs finish, the upper one grows when kills land too early.
   */
  minDelayMs: number
  maxDelayMs: number
  env: NodeJS.ProcessEnv
  start: CrashDirection
  /** The CLI arguments (after the binary) of the move `from` → `to`. */
  args: (d: CrashDirection) => string[]
  /** False once the move's source is gone: a run killed after finishing its work completed it. */
  sourceExists: (d: CrashDirection) => Promise<boolean>
  /**
   * Where the snapshots are, as a string: a kill that changed it landed mid-move ("effective");
   * one that did not hit the start-up, so the kill delays grow.
   */
  state: () => Promise<string>
  /** Runs before every run, e.g. to count the runs that merge. */
  beforeRun?: (d: CrashDirection) => Promise<void>
  /** Runs after every run (killed or not): recover what a next run would, assert nothing is lost. */
  check: (run: number, how: string) => Promise<void>
}

/** What a crash loop did; `last` is the direction a final run should take. */
export interface CrashLoopResult {
  kills: number
  /** Kills after which the snapshots were somewhere else than before the run. */
  effectiveKills: number
  finished: number
  runs: number
  last: CrashDirection
}

/** `pbs-store namespace move` arguments of a direction, on datastore `store`. */
export function namespaceMoveArgs(store: string): (d: CrashDirection) => string[] {
  return (d) => ['namespace', 'move', d.from, '--store', store, '--target-ns', d.to]
}

/** `pbs-store group move` arguments of a direction (namespaces), for `group` ('vm/900'). */
export function groupMoveArgs(store: string, group: string): (d: CrashDirection) => string[] {
  return (d) => ['group', 'move', group, '--store', store, '--ns', d.from, '--target-ns', d.to]
}

/** Runs a move process once to its end; returns its exit code and stderr. */
export async function runMove(
  env: NodeJS.ProcessEnv,
  args: string[],
  killAfterMs?: number,
): Promise<{ code: number | null; killed: boolean; stderr: string }> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  if (killAfterMs !== undefined) {
    const done = await Promise.race([exited.then(() => true), sleep(killAfterMs).then(() => false)])
    if (!done) {
      child.kill('SIGKILL')
      return { code: await exited, killed: true, stderr }
    }
  }
  return { code: await exited, killed: false, stderr }
}

/** Kills moves until `kills` kills happened (at most 4 runs per kill). */
export async function crashLoop(o: CrashLoopOptions): Promise<CrashLoopResult> {
  const random = prng(o.seed)
  let d = o.start
  const flip = (): void => {
    d = { from: d.to, to: d.from }
  }
  let kills = 0
  let effectiveKills = 0
  let finished = 0
  let runs = 0
  // Kills before the process got to work prove nothing: the window starts after a CLI start-up,
  // measured here (seconds on a loaded machine); both bounds shrink when runs finish before the
  // kill (the load fell, or the move is short), the upper one grows when kills land too early.
  const t0 = Date.now()
  await runMove(o.env, ['--version'])
  let lo = Math.max(o.minDelayMs, Date.now() - t0)
  let hi = Math.max(o.maxDelayMs, lo + 400)
  while (kills < o.kills && runs < o.kills * 4) {
    runs++
    if (!(await o.sourceExists(d))) flip()
    await o.beforeRun?.(d)
    const before = await o.state()
    const delay = lo + Math.floor(random() * (hi - lo))
    const r = await runMove(o.env, o.args(d), delay)
    if (r.killed) {
      kills++
      if ((await o.state()) !== before) effectiveKills++
      else hi = Math.min(Math.max(o.maxDelayMs, lo) * 4, Math.floor(hi * 1.5)) // killed too early
    } else {
      finished++
      // a run that completed must have succeeded (warnings about leftovers are fine)
      assert.equal(r.code, 0, `uninterrupted move ${d.from} → ${d.to} failed: ${r.stderr}`)
      assert.equal(
        await o.sourceExists(d),
        false,
        `a completed move ${d.from} → ${d.to} removed its source (its output: ${r.stderr.trim()})`,
      )
      flip()
      lo = Math.max(o.minDelayMs, Math.floor(lo * 0.8)) // finishing too often: kill earlier
      hi = Math.max(lo + 200, Math.floor(hi * 0.8))
    }
    await o.check(runs, r.killed ? `killed at ${delay} ms` : 'finished')
  }
  assert.ok(kills >= o.kills, `only ${kills} kills in ${runs} runs`)
  if (!(await o.sourceExists(d))) flip()
  return { kills, effectiveKills, finished, runs, last: d }
}
