// Hostile input against every CLI command (issue 10, part 4 — CLI side): ≥ 2,000 malformed or
// hostile values in every parameter position. Each must fail with a clear one-line error that
// names the input, and nothing on disk may change (a tree watcher compares before and after).
import assert from 'node:assert/strict'
import { lstat, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { BackupNamespace } from '../../src/api-types/index.js'
import { main } from '../../src/cli/main.js'
import type { OutputSink } from '../../src/cli/output.js'
import { createDatastore, createNamespace } from '../../src/datastore/index.js'
import { makeFakeSnapshot } from '../helpers/fake-snapshot.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'
import {
  hostileAclPaths,
  hostileAuthids,
  hostileBooleans,
  hostileComments,
  hostileIntegers,
  hostileIntegersFor,
  hostileNames,
  hostileNamespaces,
  hostilePasswords,
  hostileRoles,
  hostileTimes,
  hostileTokenNames,
  hostileUpids,
  hostileUserids,
} from './hostile-values.js'

/** A valid `s3 endpoint create` command line; one option at a time is spoiled. */
const S3_ENDPOINT_CREATE = [
  's3',
  'endpoint',
  'create',
  'ep1',
  '--endpoint',
  'https://s3.example.com',
  '--access-key',
  'k',
  '--secret-key',
  's',
]
const T0 = 1776359903
const SNAP = 'vm/100/2026-04-16T17:18:23Z'

/** Every path under dir with size and mtime, to detect any change. */
async function tree(dir: string, skip: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name)
      if (p === skip) continue
      const st = await lstat(p)
      out.set(p, `${st.size}:${st.mtimeMs}:${st.mode}`)
      if (st.isDirectory() && !p.endsWith('.chunks')) await walk(p)
    }
  }
  await walk(dir)
  return out
}

/** All argument vectors to try (each must be refused). */
function cases(): string[][] {
  const s = ['--store', 'store1']
  const out: string[][] = []
  for (const ns of hostileNamespaces()) {
    out.push(['namespace', 'create', ns, ...s])
    out.push(['namespace', 'list', ...s, '--ns', ns])
    out.push(['namespace', 'delete', ns, ...s])
    out.push(['namespace', 'move', ns, ...s, '--target-ns', 'ok2'])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', ns])
    out.push(['group', 'list', ...s, '--ns', ns])
    out.push(['group', 'move', 'vm/100', ...s, '--target-ns', ns])
    out.push(['snapshot', 'list', ...s, '--ns', ns])
    out.push(['prune-datastore', ...s, '--ns', ns, '--keep-last', '1', '--dry-run'])
  }
  for (const n of hostileNames()) {
    for (const group of [`vm/${n}`, `${n}/100`]) {
      out.push(['group', 'notes', group, ...s])
      out.push(['group', 'forget', group, ...s])
      out.push(['group', 'move', group, ...s, '--target-ns', 'ok'])
      out.push(['group', 'change-owner', group, ...s, '--new-owner', 'a@pbs'])
      out.push(['snapshot', 'list', group, ...s])
      out.push(['prune', group, ...s, '--keep-last', '1', '--dry-run'])
    }
    out.push(['group', 'list', '--store', n])
    out.push(['namespace', 'list', '--store', n])
    out.push(['datastore', 'create', n, '/tmp/pbs-store-hostile-never-created'])
  }
  for (const t of hostileTimes()) {
    for (const cmd of [
      ['snapshot', 'forget'],
      ['snapshot', 'files'],
      ['snapshot', 'protected'],
    ])
      out.push([...cmd, `vm/100/${t}`, ...s])
  }
  for (const a of hostileAuthids()) out.push(['group', 'change-owner', 'vm/100', ...s, '--new-owner', a])
  for (const b of hostileBooleans()) {
    out.push(['snapshot', 'protected', SNAP, ...s, '--set', b])
    out.push(['group', 'move', 'vm/100', ...s, '--target-ns', 'ok', '--merge-group', b])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', 'ok2', '--delete-source', b])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', 'ok2', '--merge-groups', b])
  }
  for (const i of hostileIntegers()) {
    out.push(['namespace', 'list', ...s, '--max-depth', i])
    out.push(['namespace', 'move', 'ok', ...s, '--target-ns', 'ok2', '--max-depth', i])
    if (i !== '8' && i !== '99') out.push(['prune', 'vm/100', ...s, '--keep-daily', i, '--dry-run']) // large keep counts are valid
    out.push(['prune-datastore', ...s, '--max-depth', i, '--keep-last', '1', '--dry-run'])
  }
  for (const dir of ['', 'relative\u0000nul']) out.push(['datastore', 'create', 'newstore', dir])
  return out
}

/** A case of the wider command set: the argv and what its error must name (option or value). */
interface Named {
  argv: string[]
  names: string[]
}

/** One hostile value in one position of a command, `{}` in `argv` marking the position. */
function spoil(argv: string[], values: string[], name: string): Named[] {
  // The error may name the option (with or without dashes) or quote the value (escaped or not).
  const escaped = (v: string): string => JSON.stringify(v).slice(1, -1).slice(0, 24)
  return values.map((v) => ({
    argv: argv.map((a) => (a === '{}' ? v : a)),
    names: [name, name.replace(/^--/, ''), `'${v.slice(0, 24)}`, `'${escaped(v)}`],
  }))
}

const SERVER = 'https://127.0.0.1:1'

/** Hostile values for every argument and option of the commands the first set does not cover. */
function namedCases(): Named[] {
  const s = ['--store', 'store1']
  /** A valid backup command line (it fails later, at the missing source); one option spoiled at a time. */
  const backupLine = [
    'backup',
    'root.pxar:/nonexistent-dir',
    ...s,
    '--backup-type',
    'host',
    '--backup-id',
    '1',
  ]
  const names = hostileNames()
  const shortNames = names.filter((n) => n.length < 300)
  const ints = (min?: number, max?: number): string[] => hostileIntegersFor(min, max)
  const bools = [...hostileBooleans(), 'yes ', 'y', 'ja']
  const urls = [
    '',
    'x',
    'localhost:8007',
    'ftp://host',
    'file:///etc/passwd',
    'http://',
    'https://a b',
    'https://[::1',
    '//host',
    'javascript:alert(1)',
    'https://host:99999',
    'https://host:-1',
    `https://${'h'.repeat(300)}\u0000`,
  ]
  const fingerprints = [
    '',
    'x',
    'ab',
    '0'.repeat(63),
    '0'.repeat(65),
    'g'.repeat(64),
    `${'0'.repeat(63)}\u0000`,
    '00:'.repeat(31) + '0',
    'sha256:' + '0'.repeat(64),
  ]
  const tokenids = [...hostileAuthids(), 'u1@pbs', ...hostileTokenNames().map((n) => `u1@pbs!${n}`)]
  const out: Named[] = [
    // datastore
    ...spoil(['datastore', 'update', '{}', '--maintenance-mode', 'read-only'], names, 'name'),
    ...spoil(
      ['datastore', 'update', 'store1', '--maintenance-mode', '{}'],
      [
        '',
        'x',
        'type=foo',
        'type=read-only,message=a\nb',
        'type=read-only,x=1',
        'type=offline,message=%zz',
        'message=a',
        'type=read-only,type=offline',
        'Read-Only',
      ],
      '--maintenance-mode',
    ),
    ...spoil(
      ['datastore', 'update', 'store1', '--delete', '{}'],
      ['', 'x', 'comment;x', 'maintenance-mode,x', 'MAINTENANCE-MODE'],
      '--delete',
    ),
    ...spoil(
      ['datastore', 'create', 'newstore', '/tmp/pbs-store-hostile-never-created', '--comment', '{}'],
      hostileComments(),
      '--comment',
    ),
    ...spoil(
      ['datastore', 'create', 'newstore', '/tmp/pbs-store-hostile-never-created', '--backend', '{}'],
      ['', 'S3', 'fs', 'x', 'filesystem ', 'zfs'],
      '--backend',
    ),
    ...spoil(
      ['datastore', 'create', 'newstore', '/tmp/pbs-store-hostile-never-created', '--max-cache-size', '{}'],
      ['', 'x', '-1', '1XB', '1.5.5G', 'GiB', ' 1GiB', '1e3'],
      '--max-cache-size',
    ),
    ...spoil(
      [
        'datastore',
        'create',
        'newstore',
        '/tmp/pbs-store-hostile-never-created',
        '--backend',
        's3',
        '--s3-endpoint',
        '{}',
        '--bucket',
        'bucket1',
      ],
      names,
      '--s3-endpoint',
    ),
    // users, tokens, ACLs
    ...spoil(['user', 'create', '{}', '--password', 'long-enough'], hostileUserids(), 'userid'),
    ...spoil(['user', 'create', 'new@pbs', '--password', '{}'], hostilePasswords(), '--password'),
    ...spoil(['user', 'create', 'new@pbs', '--comment', '{}'], hostileComments(), '--comment'),
    ...spoil(['user', 'create', 'new@pbs', '--email', '{}'], [...hostileComments(64), 'x'], '--email'),
    ...spoil(['user', 'update', '{}', '--comment', 'c'], hostileUserids(), 'userid'),
    ...spoil(['user', 'update', 'u1@pbs', '--enable', '{}'], bools, '--enable'),
    ...spoil(['user', 'update', 'u1@pbs', '--expire', '{}'], ints(0), '--expire'),
    ...spoil(['user', 'update', 'u1@pbs', '--comment', '{}'], hostileComments(), '--comment'),
    ...spoil(['user', 'update', 'u1@pbs', '--email', '{}'], [...hostileComments(64), 'x'], '--email'),
    ...spoil(['user', 'passwd', '{}', '--password', 'long-enough'], hostileUserids(), 'userid'),
    ...spoil(['user', 'passwd', 'u1@pbs', '--password', '{}'], hostilePasswords(), '--password'),
    ...spoil(['user', 'delete', '{}'], hostileUserids(), 'userid'),
    ...spoil(['token', 'create', '{}'], tokenids, 'tokenid'),
    ...spoil(['token', 'create', 'u1@pbs!new', '--comment', '{}'], hostileComments(), '--comment'),
    ...spoil(['token', 'regenerate', '{}'], tokenids, 'tokenid'),
    ...spoil(['token', 'delete', '{}'], tokenids, 'tokenid'),
    ...spoil(['acl', 'set', '{}', 'u1@pbs', 'Audit'], hostileAclPaths(), 'path'),
    ...spoil(['acl', 'set', '/datastore', '{}', 'Audit'], hostileAuthids(), 'auth-id'),
    ...spoil(['acl', 'set', '/datastore', 'u1@pbs', '{}'], hostileRoles(), 'role'),
    ...spoil(['acl', 'set', '/datastore', 'u1@pbs', 'Audit', '--propagate', '{}'], bools, '--propagate'),
    ...spoil(['acl', 'remove', '{}', 'u1@pbs', 'Audit'], hostileAclPaths(), 'path'),
    ...spoil(['acl', 'remove', '/datastore', '{}', 'Audit'], hostileAuthids(), 'auth-id'),
    ...spoil(['acl', 'remove', '/datastore', 'u1@pbs', '{}'], hostileRoles(), 'role'),
    // S3 administration
    ...spoil(['s3', 'endpoint', 'create', '{}', ...S3_ENDPOINT_CREATE.slice(4)], names, 'id'),
    ...spoil(
      ['s3', 'endpoint', 'create', 'ep1', '--endpoint', '{}', '--access-key', 'k', '--secret-key', 's'],
      urls,
      '--endpoint',
    ),
    ...spoil([...S3_ENDPOINT_CREATE, '--port', '{}'], ints(1, 65535), '--port'),
    ...spoil([...S3_ENDPOINT_CREATE, '--fingerprint', '{}'], fingerprints, '--fingerprint'),
    ...spoil(
      [...S3_ENDPOINT_CREATE, '--provider-quirks', '{}'],
      ['', 'x', 'skip-if-none-match-header,x', 'SKIP-IF-NONE-MATCH-HEADER'],
      '--provider-quirks',
    ),
    ...spoil(
      [...S3_ENDPOINT_CREATE.slice(0, 7), '{}', '--secret-key', 's'],
      ['', 'a\nb', 'a\u0000b'],
      '--access-key',
    ),
    ...spoil([...S3_ENDPOINT_CREATE.slice(0, 9), '{}'], ['', 'a\nb', 'a\u0000b'], '--secret-key'),
    ...spoil(
      [...S3_ENDPOINT_CREATE, '--region', '{}'],
      ['', 'a b', 'a\u0000', '../x', 'x'.repeat(300)],
      '--region',
    ),
    ...spoil(['s3', 'endpoint', 'remove', '{}'], names, 'id'),
    ...spoil(['s3', 'refresh', '--store', '{}'], names, '--store'),
    ...spoil(['s3', 'cleanup', '--store', '{}'], names, '--store'),
    ...spoil(['s3', 'check', '{}', '--bucket', 'bucket1'], names, 'id'),
    ...spoil(
      ['s3', 'check', 'ep1', '--bucket', '{}'],
      ['', 'A', 'a', 'a_b', '..', 'a..b', 'x'.repeat(64), '-ab', 'ab-', '192.168.0.1', 'a/b', 'a\u0000b'],
      '--bucket',
    ),
    // jobs and data
    ...spoil(
      ['verify', '{}', ...s],
      shortNames.map((n) => `vm/${n}`),
      'target',
    ),
    ...spoil(
      ['verify', ...s, '--ns', '{}'],
      hostileNamespaces().filter((n) => n.length < 300),
      '--ns',
    ),
    ...spoil(['verify', ...s, '--max-depth', '{}'], ints(0, 7), '--max-depth'),
    ...spoil(['verify', ...s, '--outdated-after', '{}'], ints(0), '--outdated-after'),
    ...spoil(['gc', '--store', '{}'], names, '--store'),
    ...spoil(
      ['snapshot', 'files', SNAP, '--store', 'store1', '--ns', '{}'],
      hostileNamespaces().filter((n) => n.length < 300),
      '--ns',
    ),
    ...spoil(['snapshot', 'list', '--store', '{}'], names, '--store'),
    ...spoil(
      ['backup', 'root.pxar:/nonexistent-dir', ...s, '--backup-type', '{}', '--backup-id', '1'],
      ['', 'VM', 'vmm', '../vm', 'vm\u0000'],
      '--backup-type',
    ),
    ...spoil(
      ['backup', 'root.pxar:/nonexistent-dir', ...s, '--backup-type', 'host', '--backup-id', '{}'],
      names,
      '--backup-id',
    ),
    ...spoil([...backupLine, '--backup-time', '{}'], hostileTimes(), '--backup-time'),
    ...spoil([...backupLine, '--owner', '{}'], hostileAuthids(), '--owner'),
    ...spoil(
      [...backupLine, '--workers', '{}'],
      ints(0, 64), // 0 = hash in the main thread (docs/data-path.md)
      '--workers',
    ),
    ...spoil(
      ['backup', '{}', ...s, '--backup-type', 'host', '--backup-id', '1'],
      [
        '',
        ':',
        'x.img',
        '../x.pxar:/nonexistent-dir',
        'a\u0000.pxar:/x',
        'x.txt:/nonexistent-dir',
        '.pxar:/nonexistent-dir',
        'root.pxar:',
      ],
      'archives',
    ),
    ...spoil(
      ['restore', '{}', 'root.pxar', '/tmp/pbs-store-hostile-never-restored', ...s],
      hostileTimes().map((t) => `vm/100/${t}`),
      'snapshot',
    ),
    ...spoil(
      ['restore', SNAP, '{}', '/tmp/pbs-store-hostile-never-restored', ...s],
      ['', '..', '../../etc/passwd', 'a/b.pxar', 'a\u0000.pxar', 'x'.repeat(300), 'index.json.blob.didx'],
      'archive',
    ),
    ...spoil(['restore', SNAP, 'root.pxar', '{}', ...s], ['', 'a\u0000b'], 'target'),
    ...spoil(
      ['serve', '--listen', '{}'],
      [
        '',
        'x',
        ':',
        '127.0.0.1:99999',
        '127.0.0.1:-1',
        '[::1',
        'a b:80',
        '127.0.0.1:0x10',
        '127.0.0.1: 1',
        '127.0.0.1:1.5',
      ],
      '--listen',
    ),
    // tasks and login
    ...spoil(['task', 'log', '{}'], hostileUpids(), 'upid'),
    ...spoil(['task', 'status', '{}'], hostileUpids(), 'upid'),
    ...spoil(['task', 'abort', '{}'], hostileUpids(), 'upid'),
    ...spoil(['task', 'list', '--limit', '{}'], ints(0), '--limit'),
    ...spoil(['task', 'list', '--store', '{}'], names, '--store'),
    ...spoil(['login', '--server', SERVER, '--user', '{}'], hostileUserids(), '--user'),
    // global options, remote mode
    ...spoil(
      ['--output-format', '{}', 'datastore', 'list'],
      ['', 'JSON', 'yaml', 'json ', 'text\u0000'],
      '--output-format',
    ),
  ]
  for (const cmd of [
    ['group', 'list', ...s],
    ['namespace', 'list', ...s],
    ['task', 'list'],
    ['user', 'list'],
    ['snapshot', 'forget', SNAP, ...s],
  ]) {
    out.push(...spoil(['--server', '{}', ...cmd], urls, '--server'))
    out.push(...spoil(['--server', SERVER, '--fingerprint', '{}', ...cmd], fingerprints, '--fingerprint'))
  }
  return out
}

describe('hostile input against the CLI', () => {
  let home: TempHome
  before(async () => {
    home = await makeTempHome()
    process.env.PBS_STORE_LOCK_DIR = home.env.PBS_STORE_LOCK_DIR
    process.env.PBS_STORE_PBS_RUN_DIR = home.env.PBS_STORE_PBS_RUN_DIR
    const store = await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
    await createNamespace(store, BackupNamespace.parse('ok'))
    await makeFakeSnapshot(store, BackupNamespace.ROOT, 'vm', '100', T0)
    process.env.PBS_STORE_TOKEN = ''
    process.env.PBS_STORE_TOKEN_SECRET = ''
    process.env.PBS_STORE_PASSWORD = 'never-prompt' // a login that gets past its checks must not wait on stdin
    await main(
      [
        'node',
        'pbs-store',
        '--home',
        home.installation.home,
        'user',
        'create',
        'u1@pbs',
        '--password',
        'long-enough',
      ],
      {
        out: () => undefined,
        err: (t) => assert.fail(t),
      },
    )
  })
  after(() => home.cleanup())

  it('refuses every hostile value with a clear error and changes nothing', async () => {
    const named = namedCases()
    const all: Named[] = [...cases().map((argv) => ({ argv, names: [] })), ...named]
    assert.ok(all.length >= 2000, `only ${all.length} cases`)
    const beforeTree = await tree(home.dir, home.installation.lockDir)
    const failures: string[] = []
    const failedGroups = new Set<string>()
    for (const { argv, names } of all) {
      const n0 = failures.length
      if (process.env.HOSTILE_TRACE) await writeFile(process.env.HOSTILE_TRACE, JSON.stringify(argv))
      let err = ''
      let out = ''
      const sink: OutputSink = { out: (t) => (out += t), err: (t) => (err += t) }
      const code = await main(['node', 'pbs-store', '--home', home.installation.home, ...argv], sink)
      const label = JSON.stringify(argv)
      // The error is one line (commander's usage errors, exit code 2, add the help after it).
      const line = err.split('\n').find((l) => l.startsWith('error: ')) ?? ''
      if (code === 0) failures.push(`accepted: ${label} → ${out.slice(0, 100)}`)
      else if (!/^error: .*(invalid |does not exist|cannot |must |not empty|required|unknown)/.test(line))
        failures.push(`unclear: ${label} → ${err.slice(0, 200)}`)
      else if (/\n\s+at /.test(err)) failures.push(`stack trace: ${label}`)
      // eslint-disable-next-line no-control-regex
      else if (/[\x00-\x09\x0b-\x1f\x7f]/.test(err)) failures.push(`raw control character: ${label}`)
      else if (code !== 2 && err.trimEnd().includes('\n')) failures.push(`not one line: ${label} → ${err}`)
      else if (names.length > 0 && !names.some((n) => n !== '' && line.includes(n)))
        failures.push(`not naming ${names[0]}: ${label} → ${err.slice(0, 200)}`)
      if (failures.length > n0) failedGroups.add(`${argv.slice(0, 2).join(' ')}|${names[0] ?? ''}`)
    }
    if (process.env.HOSTILE_DUMP)
      await writeFile(process.env.HOSTILE_DUMP, [...failedGroups, '', ...failures].join('\n'))
    assert.deepEqual(
      failures.slice(0, 20),
      [],
      `${failures.length} of ${all.length} inputs not refused clearly`,
    )
    const afterTree = await tree(home.dir, home.installation.lockDir)
    const changed = [...new Set([...beforeTree.keys(), ...afterTree.keys()])].filter(
      (p) => beforeTree.get(p) !== afterTree.get(p),
    )
    assert.deepEqual(changed, [], 'no file created or changed')
    console.log(
      `# hostile CLI inputs: ${all.length} tried (${named.length} naming the option or value), ` +
        `${all.length - failures.length} refused clearly, files changed: ${changed.length}`,
    )
  })
})
