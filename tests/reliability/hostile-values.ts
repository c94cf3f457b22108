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
