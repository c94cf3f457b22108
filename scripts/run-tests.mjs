#!/usr/bin/env node
// Runs the compiled node:test files. Node 20's --test takes no globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [dir-or-file-prefix...]   (default: every dist/tests/**/*.test.js)
// When S3 tests are selected (dist/tests/backend/**, or a file name containing 's3'), ONE moto S3
// server is started for the whole run (tests/helpers/moto.ts finds it) and passed to the tests as
// PBS_STORE_TEST_S3_ENDPOINT; it is stopped afterwards, also when tests fail or the run is interrupted.
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { basename, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

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
const needsS3 = files.some((f) => relative(root, f).startsWith('backend/') || basename(f).includes('s3'))

let moto
const env = { ...process.env }
if (needsS3 && !env.PBS_STORE_TEST_S3_ENDPOINT) {
  const { startMoto } = await import(pathToFileURL(resolve(root, 'helpers', 'moto.js')).href)
  const t0 = Date.now()
  moto = await startMoto()
  env.PBS_STORE_TEST_S3_ENDPOINT = moto.endpoint
  console.error(`# moto S3 server at ${moto.endpoint} (${moto.source}, started in ${Date.now() - t0} ms)`)
}

// Browser tests need Chromium: find it or install it (scripts/ensure-chromium.mjs fails loudly).
if (files.some((f) => relative(root, f).startsWith('web/')) && !env.PBS_STORE_CHROMIUM) {
  const found = spawnSync(process.execPath, [resolve('scripts', 'ensure-chromium.mjs')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  if (found.status !== 0) process.exit(1)
  env.PBS_STORE_CHROMIUM = found.stdout.trim()
}

const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], {
  stdio: 'inherit',
  env,
})
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    child.kill(sig)
  })
}
const status = await new Promise((done) => {
  child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)))
  child.on('error', () => done(1))
})
if (moto) await moto.stop()
process.exit(status)
