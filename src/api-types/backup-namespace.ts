import { ValidationError } from '../errors.js'
import { SAFE_ID_REGEX, SAFE_ID_RULE } from './safe-id.js'

/** Deepest namespace below the root (root is depth 0, so 8 levels in all). */
export const MAX_NAMESPACE_DEPTH = 7

/** Longest `a/b/c` form of a namespace, slashes included. */
export const MAX_BACKUP_NAMESPACE_LENGTH = 256

/**
 * A backup namespace: a list of SAFE_ID components, the root having none. Immutable; every
 * constructor path goes through `push`, so an instance always satisfies the PBS rules.
 */
export class BackupNamespace {
  /** The components, root first. */
  readonly components: readonly string[]
  /** Length of the `a/b/c` form. */
  readonly nameLength: number

  private constructor(components: readonly string[], nameLength: number) {
    this.components = components
    this.nameLength = nameLength
  }

  /** The root namespace. */
  static readonly ROOT = new BackupNamespace([], 0)

  /**
   * Parses the `a/b/c` form; '' (or undefined) is the root.
   * @throws ValidationError naming `input` and the broken rule.
   */
  static parse(value: unknown, input = 'namespace'): BackupNamespace {
    if (value === undefined || value === null || value === '') return BackupNamespace.ROOT
    if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
    let ns = BackupNamespace.ROOT
    for (const comp of value.split('/')) ns = ns.push(comp, input, value)
    return ns
  }

  /**
   * Parses the on-disk relative form `ns/a/ns/b` (no leading or trailing slash); '' is the root.
   * @throws ValidationError when it is not a sequence of `ns/<component>` pairs.
   */
  static fromPath(value: string, input = 'namespace path'): BackupNamespace {
    if (value === '') return BackupNamespace.ROOT
    const parts = value.split('/')
    if (parts.length % 2 !== 0)
      throw new ValidationError(input, value, "must be a sequence of 'ns/<name>' pairs")
    let ns = BackupNamespace.ROOT
    for (let i = 0; i < parts.length; i += 2) {
      if (parts[i] !== 'ns')
        throw new ValidationError(input, value, "must be a sequence of 'ns/<name>' pairs")
      ns = ns.push(parts[i + 1] ?? '', input, value)
    }
    return ns
  }

  /** Number of components (root = 0). */
  get depth(): number {
    return this.components.length
  }

  /** True for the root namespace. */
  get isRoot(): boolean {
    return this.components.length === 0
  }

  /** The last component ('' for the root). */
  get name(): string {
    return this.components[this.components.length - 1] ?? ''
  }

  /** PBS `path_len`: name length plus three bytes (`ns/`) per level. */
  get pathLength(): number {
    return this.nameLength + 3 * this.depth
  }

  /**
   * A child namespace, with PBS's checks in PBS's order: no '/', depth, length, SAFE_ID.
   * @throws ValidationError naming the input and the rule.
   */
  push(comp: string, input = 'namespace', whole: unknown = undefined): BackupNamespace {
    const shown = whole ?? (this.isRoot ? comp : `${this.toString()}/${comp}`)
    if (comp.includes('/'))
      throw new ValidationError(input, shown, "a namespace component must not contain '/'")
    if (this.depth >= MAX_NAMESPACE_DEPTH)
      throw new ValidationError(
        input,
        shown,
        `namespace too deep - at most ${MAX_NAMESPACE_DEPTH} levels below the root`,
      )
    if (this.nameLength + comp.length + 1 > MAX_BACKUP_NAMESPACE_LENGTH)
      throw new ValidationError(
        input,
        shown,
        `namespace length exceeded - at most ${MAX_BACKUP_NAMESPACE_LENGTH} characters`,
      )
    if (comp.length === 0) throw new ValidationError(input, shown, 'namespace components must not be empty')
    if (!SAFE_ID_REGEX.test(comp))
      throw new ValidationError(input, shown, `namespace component '${comp}' ${SAFE_ID_RULE}`)
    const length = this.isRoot ? comp.length : this.nameLength + 1 + comp.length
    return new BackupNamespace([...this.components, comp], length)
  }

  /** The parent namespace; the root's parent is undefined. */
  parent(): BackupNamespace | undefined {
    if (this.isRoot) return undefined
    return BackupNamespace.fromComponents(this.components.slice(0, -1))
  }

  /** Every ancestor from the root down to (excluding) this one. */
  ancestors(): BackupNamespace[] {
    const out: BackupNamespace[] = []
    for (let i = 0; i < this.depth; i++) out.push(BackupNamespace.fromComponents(this.components.slice(0, i)))
    return out
  }

  /** Builds from already split components (validated again). */
  static fromComponents(components: readonly string[], input = 'namespace'): BackupNamespace {
    let ns = BackupNamespace.ROOT
    for (const c of components) ns = ns.push(c, input)
    return ns
  }

  /** The `a/b/c` form ('' for root). */
  toString(): string {
    return this.components.join('/')
  }

  /** The `a/b/c` form, or 'root' for messages. */
  display(): string {
    return this.isRoot ? 'root' : this.toString()
  }

  /** On-disk form relative to the datastore base: `ns/a/ns/b` ('' for root). */
  path(): string {
    return this.components.map((c) => `ns/${c}`).join('/')
  }

  /** Same namespace? */
  equals(other: BackupNamespace): boolean {
    return this.toString() === other.toString()
  }

  /** When this is a prefix of `other` (or equal), the depth difference; otherwise undefined. */
  contains(other: BackupNamespace): number | undefined {
    if (other.depth < this.depth) return undefined
    for (let i = 0; i < this.depth; i++) if (this.components[i] !== other.components[i]) return undefined
    return other.depth - this.depth
  }

  /**
   * Replaces the prefix `source` by `target` (`a/b/c`.mapPrefix(`a`, `x/y`) = `x/y/b/c`).
   * @throws ValidationError when `source` is not a prefix, or the result is too deep or too long.
   */
  mapPrefix(source: BackupNamespace, target: BackupNamespace, input = 'target namespace'): BackupNamespace {
    if (source.contains(this) === undefined)
      throw new ValidationError(
        input,
        this.toString(),
        `namespace '${source.display()}' is not a prefix of '${this.display()}'`,
      )
    let ns = target
    for (const comp of this.components.slice(source.depth)) ns = ns.push(comp, input)
    return ns
  }

  /**
   * Fails when `extraDepth` more levels below this namespace would exceed the maximum depth.
   * @throws ValidationError
   */
  checkMaxDepth(extraDepth: number, input = 'max-depth'): void {
    if (this.depth + extraDepth > MAX_NAMESPACE_DEPTH)
      throw new ValidationError(
        input,
        extraDepth,
        `namespace '${this.display()}' (depth ${this.depth}) plus ${extraDepth} levels exceeds the maximum depth ${MAX_NAMESPACE_DEPTH}`,
      )
  }
}

/**
 * Checks a max-depth parameter (0..7).
 * @throws ValidationError
 */
export function parseMaxDepth(value: unknown, input = 'max-depth'): number {
  const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_NAMESPACE_DEPTH)
    throw new ValidationError(input, value, `must be an integer from 0 to ${MAX_NAMESPACE_DEPTH}`)
  return n
}
