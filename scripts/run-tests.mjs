#!/usr/bin/env node
// Runs the compiled node:test files. Node 20's --test takes no globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [dir-or-file-prefix...]   (default: every dist/tests/**/*.test.js)
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = 'dist/tests'
/** Recursively lists *.test.js below dir. */
function list(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...list(p))
    else if (name.endsWith('.test.js')) out.push(p)
  }
  return out
}
const wanted = process.argv.slice(2)
const exclude = (process.env.PBS_STORE_TEST_EXCLUDE ?? '').split(',').filter(Boolean)
const files = list(root).filter((f) => {
  const rel = relative(root, f)
  if (wanted.length > 0) return wanted.some((w) => rel.startsWith(w))
  return !exclude.some((e) => rel.startsWith(e))
})
if (files.length === 0) {
  console.error(`no test files found under ${root} (did the build run?)`)
  process.exit(1)
}
const concurrency = process.env.PBS_STORE_TEST_CONCURRENCY ?? '2'
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], {
  stdio: 'inherit',
})
process.exit(r.status ?? 1)
