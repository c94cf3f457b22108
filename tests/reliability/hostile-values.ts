/**
 * Generators of malformed and hostile inputs, by the kind of parameter they attack. Every value
 * returned must be REJECTED by the corresponding validator; tests assert that and that nothing
 * on disk changes.
 */

/** Values that are never valid in any name-like position (namespace component, id, store …). */
export function hostileNames(): string[] {
  const base = [
    '',
    '.',
    '..',
    '../x',
    '../../etc/passwd',
    '/etc',
    'a/../../b',
    'a\u0000b',
    '\u0000',
    'a\nb',
    'a\rb',
    'a\tb',
    'a b',
    ' a',
    'a ',
    '-a',
    '.hidden',
    'а', // Cyrillic a
    'vm\u200b100', // zero-width space
    'a\u202eb', // right-to-left override
    '／etc', // fullwidth solidus
    'ａ', // fullwidth a
    '%2e%2e',
    '..%2f..',
    'a\\b',
    '$(rm -rf /)',
    '`id`',
    'a;b',
    'a|b',
    'a*',
    'a?',
    'a"b',
    "a'b",
    'a:b',
    '~root',
    '{a}',
    '[a]',
    'a@b',
    'x'.repeat(256),
    'x'.repeat(4096),
    '😀',
    'é',
  ]
  return base
}

/** Namespaces that break a rule: traversal, depth 8, length 257, empty components, bad chars. */
export function hostileNamespaces(): string[] {
  const out = [
    'a//b',
    '/a',
    'a/',
    'a/../b',
    '../a',
    './a',
    'a/./b',
    '1/2/3/4/5/6/7/8',
    '1/2/3/4/5/6/7/8/9/10',
    ['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(56)].join('/'), // 258
    'x'.repeat(257),
    ['a'.repeat(128), 'b'.repeat(128)].join('/'), // 257
  ]
  for (const n of hostileNames()) if (n !== '') out.push(n, `ok/${n}`, `${n}/ok`)
  return out
}

/** Backup times that are not valid: bad formats, impossible dates, out of range, non-UTC dirs. */
export function hostileTimes(): string[] {
  return [
    '0',
    '-1',
    '1.5',
    '1e9',
    '0x10',
    '253402300800',
    '99999999999999999999',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:61Z',
    '2026-01-01 00:00:00Z',
    '2026-01-01T00:00:00',
    '2026-1-1T0:0:0Z',
    'yesterday',
    'now',
    '',
    '1970-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '2026-01-01T00:00:00+25:00',
    '2026-01-01T00:00:00Z\n',
    '../2026-01-01T00:00:00Z',
  ]
}

/** Authids that are invalid. */
export function hostileAuthids(): string[] {
  return [
    'root',
    '@pbs',
    'a@',
    'a@p',
    'a b@pbs',
    'a/b@pbs',
    'a:b@pbs',
    'a@pbs!',
    'a@pbs!x/y',
    'a@pbs!..',
    `${'x'.repeat(70)}@pbs`,
    'a\u0000@pbs',
    'a@pbs\n',
  ]
}

/** Values for boolean options that are not booleans. */
export function hostileBooleans(): string[] {
  return ['maybe', 'yes please', '2', '-1', 'tru', 'TRUEE', '', 'null', '{}', '[]']
}

/** Values for small integer options (max-depth, keep-*) that are out of range or not integers. */
export function hostileIntegers(): string[] {
  return ['-1', '8', '99', '1.5', 'x', '', '0x1', '1e3', ' 1', 'NaN', 'Infinity', '9'.repeat(30)]
}

/** Userids (`name@realm`) that are invalid: no realm, bad realm, bad name, too long, tokens. */
export function hostileUserids(): string[] {
  const out = [
    ...hostileAuthids().filter((a) => !a.includes('!') || a === 'a@pbs!'),
    'a@pbs!tok', // an Authid, not a Userid
    'a@pbs!..',
    '..@',
    '@',
    'a@pbs@',
    'a@1bad',
    `a@${'r'.repeat(33)}`,
    `${'x'.repeat(62)}@pbs`, // 66 characters
    'a@ｐbs',
    'a@рbs', // Cyrillic р
    'a@pbs\u0000',
    'a@pbs ',
    ' a@pbs',
    'a\t@pbs',
    '../a@pbs',
    'a/../../b@pbs',
  ]
  for (const n of hostileNames()) if (n !== '' && !/^[^\s:/\p{Cc}]+$/u.test(n)) out.push(`${n}@pbs`)
  for (const n of hostileNames()) out.push(`a@${n}`)
  return [...new Set(out)]
}

/** Token names that break SAFE_ID or its 64-character limit (hostileNames minus valid ids). */
export function hostileTokenNames(): string[] {
  return hostileNames().filter((n) => !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(n))
}

/** ACL paths that break ACL_PATH_SCHEMA (`/` or `/`-separated SAFE_IDs, 1–128 characters). */
export function hostileAclPaths(): string[] {
  const out = [
    '',
    'datastore',
    'datastore/store1',
    '//',
    '/datastore//store1',
    '/datastore/store1/',
    '/datastore/..',
    '/datastore/store1/../../etc',
    '/../etc/passwd',
    '/./access',
    '/datastore/store1/ns\u0000',
    '/datastore/ｓtore1',
    '/datastore/store1/\u200b',
    '/datastore/-a',
    '/datastore/.hidden',
    '/access\n',
    ` /access`,
    `/${'x'.repeat(128)}`,
    `/datastore/${'a/'.repeat(70)}b`,
    '\\access',
    '/access;rm',
    '/datastore/store1?x',
    '/datastore/%2e%2e',
  ]
  for (const n of hostileNames()) if (n !== '' && n !== '/etc' && !n.startsWith('/')) out.push(`/${n}`)
  return [...new Set(out)]
}

/** Role names that are not one of the built-in roles. */
export function hostileRoles(): string[] {
  return [
    '',
    'admin',
    'ADMIN',
    'Admin ',
    ' Admin',
    'Admin\u0000',
    'Аdmin', // Cyrillic А
    'Ａdmin',
    'Admin,Audit',
    'Admin;rm',
    '../Admin',
    'Admin/..',
    'NoAccess\n',
    'Superuser',
    'x'.repeat(300),
  ]
}

/** Node names that are not hostname labels (long labels are valid: PBS accepts any node name). */
export function hostileNodes(): string[] {
  return hostileNames().filter((n) => !/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(n))
}

/** Well-formed UPID of a task that never ran (valid: for base values). */
export const SOME_UPID = 'UPID:localhost:00000001:00000002:00000003:6A000000:verify:store1:admin@pbs:'

/** UPIDs that break the UPID form (§5.1), or smuggle a traversal or a bad authid into it. */
export function hostileUpids(): string[] {
  const ok = SOME_UPID
  const out = [
    '',
    'UPID',
    'UPID:',
    'upid:localhost:00000001:00000002:00000003:6A000000:verify:store1:admin@pbs:',
    ok.slice(0, -1), // no trailing ':'
    `${ok}:`,
    ok.replace('localhost', 'local_host'),
    ok.replace('localhost', '-localhost'),
    ok.replace('localhost', '..'),
    ok.replace('00000001', '0001'),
    ok.replace('00000001', '0000000G'),
    ok.replace('6A000000', '6A0000000'),
    ok.replace('00000002', '0000000002'),
    ok.replace('00000003', '0'.repeat(17)),
    ok.replace(':verify:', '::'),
    ok.replace(':verify:', ':ver ify:'),
    ok.replace(':verify:', ':../../../../etc:'),
    ok.replace(':verify:', ':a/b:'),
    ok.replace(':store1:', ':../../../../../tmp/x:'),
    ok.replace(':store1:', ':a/b:'),
    ok.replace(':store1:', ':\\xZZ:'),
    ok.replace(':store1:', ':\\x:'),
    ok.replace('admin@pbs', ''),
    ok.replace('admin@pbs', 'admin'),
    ok.replace('admin@pbs', 'a/b@pbs'),
    ok.replace('admin@pbs', '..'),
    ok.replace('admin@pbs', 'admin@pbs!a/b'),
    ok.replace('admin@pbs', `${'x'.repeat(70)}@pbs`),
    `${ok}\u0000`,
    `${ok}\n`,
    ok.replace('verify', 'verify\u0000'),
    ok.replace('UPID', 'ＵPID'),
    '../../etc/passwd',
    '..',
    'x'.repeat(300),
  ]
  return [...new Set(out)]
}

/** Single-line comments that are not: control characters, over 128 characters. */
export function hostileComments(max = 128): string[] {
  return ['a\nb', 'a\rb', 'a\u0000b', '\u001b[31mred', 'a\u007fb', 'x'.repeat(max + 1), 'x'.repeat(4096)]
}

/** Passwords that break the pbs rule (8–64 characters, no control characters). */
export function hostilePasswords(): string[] {
  return ['', 'short', '1234567', 'x'.repeat(65), 'abcdefgh\n', 'abcd\u0000efgh', '\u0007'.repeat(8)]
}

/** Config digests that are not 64 hex digits. */
export function hostileDigests(): string[] {
  return [
    '',
    'x',
    '0'.repeat(63),
    '0'.repeat(65),
    'g'.repeat(64),
    ` ${'0'.repeat(63)}`,
    `${'0'.repeat(63)}\u0000`,
  ]
}

/**
 * Strings for an integer in [min, max]: not integers (padded, signs, floats, hex, exponents,
 * look-alike digits, overflow) and the first values outside the range.
 */
export function hostileIntegersFor(min?: number, max?: number): string[] {
  const out = [
    '1.5',
    '1.0',
    'x',
    '',
    '0x1',
    '1e3',
    ' 1',
    '1 ',
    '\t1',
    '1\n',
    '١', // Arabic-Indic digit one
    '１', // fullwidth one
    '1_000',
    '--1',
    'NaN',
    'Infinity',
    '-Infinity',
    '9'.repeat(30),
    '-' + '9'.repeat(30),
  ]
  if (min !== undefined) out.push(String(min - 1), String(min - 1000))
  if (max !== undefined) out.push(String(max + 1), String(max * 10 + 1))
  return out
}
