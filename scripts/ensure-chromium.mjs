#!/usr/bin/env node
// Finds Debian's Chromium for the browser tests, installing it with apt-get when missing and we
// are root (CI and fresh machines). Fails loudly otherwise: browser tests never skip.
// Prints the executable path on success. Usage: node scripts/ensure-chromium.mjs
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const CANDIDATES = [process.env.PBS_STORE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  Boolean,
)

/** The first candidate that exists. */
function find() {
  return CANDIDATES.find((p) => existsSync(p))
}

let found = find()
if (!found) {
  const isRoot = process.getuid?.() === 0
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0
  if (!isRoot || !hasApt) {
    console.error(
      'chromium not found (looked at ' +
        CANDIDATES.join(', ') +
        ') and cannot install it here: install Debian\'s "chromium" package or set PBS_STORE_CHROMIUM',
    )
    process.exit(1)
  }
  console.error('chromium not found - installing Debian package "chromium" (apt-get) …')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env })
  found = find()
  if (!found) {
    console.error('apt-get finished but chromium is still missing')
    process.exit(1)
  }
}
console.log(found)
