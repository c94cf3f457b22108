import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Path of the real launcher (bin/pbs-store.js), as an installed user would run it. */
export const CLI_BIN = fileURLToPath(new URL('../../../bin/pbs-store.js', import.meta.url))

/** Result of one CLI run. */
export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `pbs-store ARGS…` as a separate process with `env`, collecting output. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** Runs the CLI with `--output-format json` and parses stdout; fails with stderr when it exits non-zero. */
export async function runCliJson<T = unknown>(args: readonly string[], env: NodeJS.ProcessEnv): Promise<T> {
  const r = await runCli([...args, '--output-format', 'json'], env)
  if (r.code !== 0) throw new Error(`pbs-store ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}
