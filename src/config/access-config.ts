/**
 * The access-control state of one installation — users, tokens, secrets and ACLs — with the
 * read-modify-write operations the API and the CLI share. Reads are cached per file and reloaded
 * when the file's mtime or size changes, so a CLI edit is seen by a running server. Every write
 * runs under the `.user.lck` or `.acl.lck` config lock.
 */
import { createHash } from 'node:crypto'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

import { parsePassword, parseAuthid, parseUserid } from '../api-types/index.js'
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../errors.js'
import { withLock } from '../lock/index.js'
import {
  ACL_CFG_LOCK_FILE,
  addAclEntry,
  aclConfigPath,
  checkAclPath,
  loadAclConfig,
  lookupPrivs,
  parseAclConfig,
  removeAclEntriesOf,
  removeAclEntry,
  saveAclConfig,
  type AclConfig,
} from './acl-config.js'
import { readConfigFile, type ConfigLock } from './config-file.js'
import { isRoleName } from './privileges.js'
import {
  SHADOW_FILE,
  TOKEN_SHADOW_FILE,
  generateTokenSecret,
  hashSecret,
  loadSecrets,
  saveSecrets,
  shadowKey,
  verifySecret,
} from './secret-store.js'
import {
  isAccountActive,
  loadUserConfig,
  parseUserConfig,
  saveUserConfig,
  userConfigLockPath,
  userConfigPath,
  type TokenEntry,
  type UserConfig,
  type UserEntry,
} from './user-config.js'

/** Wait for a config lock (PBS uses 10 s). */
const LOCK_TIMEOUT_MS = 10_000

/** Editable user fields. */
export type UserFields = Omit<UserEntry, 'userid'>
/** Editable token fields. */
export type TokenFields = Omit<TokenEntry, 'tokenid'>

interface Cached<T> {
  stamp: string
  value: T
  digest: string
}

/** Users, tokens, secrets and ACLs of one `<home>/etc`. */
export class AccessConfig {
  readonly etcDir: string
  #users: Cached<UserConfig> | undefined
  #acl: Cached<AclConfig> | undefined

  constructor(etcDir: string) {
    this.etcDir = etcDir
  }

  /** The exclusive lock for user.cfg and both secret files. */
  userLock(): ConfigLock {
    return this.#lock(userConfigLockPath(this.etcDir), 'user configuration')
  }

  /** The exclusive lock for acl.cfg. */
  aclLock(): ConfigLock {
    return this.#lock(join(this.etcDir, ACL_CFG_LOCK_FILE), 'ACL configuration')
  }

  #lock(path: string, what: string): ConfigLock {
    return async (fn) => {
      await mkdir(this.etcDir, { recursive: true, mode: 0o750 })
      return withLock(path, { mode: 'exclusive', timeoutMs: LOCK_TIMEOUT_MS, what }, fn)
    }
  }

  /** user.cfg (cached until the file changes) and its digest. */
  async users(): Promise<{ config: UserConfig; digest: string }> {
    const path = userConfigPath(this.etcDir)
    const s = await stampOf(path)
    if (this.#users?.stamp !== s) {
      const text = await readConfigFile(path)
      const config = parseUserConfig(text)
      if (!config.users.has('root@pam'))
        config.users.set('root@pam', { userid: 'root@pam', comment: 'Superuser' })
      this.#users = { stamp: s, value: config, digest: sha256(text) }
    }
    return { config: this.#users.value, digest: this.#users.digest }
  }

  /** acl.cfg (cached until the file changes) and its digest. */
  async acl(): Promise<{ config: AclConfig; digest: string }> {
    const path = aclConfigPath(this.etcDir)
    const s = await stampOf(path)
    if (this.#acl?.stamp !== s) {
      const text = await readConfigFile(path)
      this.#acl = { stamp: s, value: parseAclConfig(text), digest: sha256(text) }
    }
    return { config: this.#acl.value, digest: this.#acl.digest }
  }

  /** Effective [privs, propagated] of an auth id on an ACL path. */
  async privs(authid: string, path: string): Promise<[number, number]> {
    return lookupPrivs((await this.acl()).config, authid, path)
  }

  /** True when the user (and, for a token, the token and its user) is enabled and not expired. */
  async isActive(authid: string): Promise<boolean> {
    const { config } = await this.users()
    const a = parseAuthid(authid)
    if (!isAccountActive(config.users.get(a.userid))) return false
    return a.tokenName === undefined || isAccountActive(config.tokens.get(authid))
  }

  /** Checks a `pbs`-realm password. Other realms have no password store here. */
  async verifyPassword(userid: string, password: string): Promise<boolean> {
    if (!userid.endsWith('@pbs')) return false
    const hash = (await loadSecrets(this.etcDir, SHADOW_FILE)).get(shadowKey(userid))
    return hash !== undefined && (await verifySecret(password, hash))
  }

  /** Checks a token secret against token.shadow. */
  async verifyTokenSecret(tokenid: string, secret: string): Promise<boolean> {
    const hash = (await loadSecrets(this.etcDir, TOKEN_SHADOW_FILE)).get(tokenid)
    return hash !== undefined && (await verifySecret(secret, hash))
  }

  /** A stamp of token.shadow, so verification caches can expire when it changes. */
  tokenShadowStamp(): Promise<string> {
    return stampOf(join(this.etcDir, TOKEN_SHADOW_FILE))
  }

  /**
   * Creates a user (with a password for the `pbs` realm).
   * @throws AlreadyExistsError `user '<u>' already exists.`, ValidationError
   */
  async createUser(userid: string, fields: UserFields, password?: string): Promise<void> {
    parseUserid(userid, 'userid')
    if (password !== undefined) checkPassword(password)
    if (password !== undefined && !userid.endsWith('@pbs'))
      throw new ValidationError(
        'password',
        '(hidden)',
        "passwords can only be set for users of the 'pbs' realm",
      )
    const hash = password === undefined ? undefined : await hashSecret(password)
    await this.userLock()(async () => {
      const cfg = await loadUserConfig(this.etcDir)
      if (cfg.users.has(userid)) throw new AlreadyExistsError(`user '${userid}' already exists.`, { userid })
      cfg.users.set(userid, { userid, ...normalizeFields(fields) })
      if (hash !== undefined) {
        const shadow = await loadSecrets(this.etcDir, SHADOW_FILE)
        shadow.set(shadowKey(userid), hash)
        await saveSecrets(this.etcDir, SHADOW_FILE, shadow)
      }
      await saveUserConfig(this.etcDir, cfg)
    })
  }

  /** Updates user fields; `remove` lists fields to delete. @throws NotFoundError, ConflictError (digest) */
  async updateUser(
    userid: string,
    fields: UserFields,
    remove: string[] = [],
    digest?: string,
  ): Promise<void> {
    await this.userLock()(async () => {
      await this.#checkDigest(userConfigPath(this.etcDir), digest)
      const cfg = await loadUserConfig(this.etcDir)
      const u = cfg.users.get(userid)
      if (!u) throw new NotFoundError(`user '${userid}' does not exist.`, { userid })
      const next: Record<string, unknown> = { ...u, ...normalizeFields(fields) }
      if (fields.enable === true) delete next.enable
      if (fields.expire === 0) delete next.expire
      for (const k of remove) delete next[k]
      cfg.users.set(userid, next as unknown as UserEntry)
      await saveUserConfig(this.etcDir, cfg)
    })
  }

  /** Sets a pbs-realm user's password. @throws NotFoundError, ValidationError */
  async setPassword(userid: string, password: string): Promise<void> {
    checkPassword(password)
    if (!userid.endsWith('@pbs'))
      throw new ValidationError('userid', userid, "passwords can only be set for users of the 'pbs' realm")
    const hash = await hashSecret(password)
    await this.userLock()(async () => {
      const cfg = await loadUserConfig(this.etcDir)
      if (!cfg.users.has(userid)) throw new NotFoundError(`user '${userid}' does not exist.`, { userid })
      const shadow = await loadSecrets(this.etcDir, SHADOW_FILE)
      shadow.set(shadowKey(userid), hash)
      await saveSecrets(this.etcDir, SHADOW_FILE, shadow)
    })
  }

  /** Deletes a user with its tokens, secrets and ACL entries. @throws NotFoundError */
  async deleteUser(userid: string, digest?: string): Promise<void> {
    await this.userLock()(async () => {
      await this.#checkDigest(userConfigPath(this.etcDir), digest)
      const cfg = await loadUserConfig(this.etcDir)
      if (!cfg.users.delete(userid)) throw new NotFoundError(`user '${userid}' does not exist.`, { userid })
      const tokenShadow = await loadSecrets(this.etcDir, TOKEN_SHADOW_FILE)
      for (const id of [...cfg.tokens.keys()])
        if (id.startsWith(`${userid}!`)) {
          cfg.tokens.delete(id)
          tokenShadow.delete(id)
        }
      const shadow = await loadSecrets(this.etcDir, SHADOW_FILE)
      if (userid.endsWith('@pbs')) shadow.delete(shadowKey(userid))
      await saveUserConfig(this.etcDir, cfg)
      await saveSecrets(this.etcDir, SHADOW_FILE, shadow)
      await saveSecrets(this.etcDir, TOKEN_SHADOW_FILE, tokenShadow)
    })
    await this.aclLock()(async () => {
      const acl = await loadAclConfig(this.etcDir)
      if (removeAclEntriesOf(acl, userid, true) > 0) await saveAclConfig(this.etcDir, acl)
    })
  }

  /**
   * Creates a token; returns its secret (shown once).
   * @throws NotFoundError (user), AlreadyExistsError `token '<n>' for user '<u>' already exists.`
   */
  async createToken(
    userid: string,
    name: string,
    fields: TokenFields = {},
    digest?: string,
  ): Promise<string> {
    const tokenid = `${userid}!${name}`
    parseAuthid(tokenid, 'token-name')
    const secret = generateTokenSecret()
    const hash = await hashSecret(secret)
    await this.userLock()(async () => {
      await this.#checkDigest(userConfigPath(this.etcDir), digest)
      const cfg = await loadUserConfig(this.etcDir)
      if (!cfg.users.has(userid)) throw new NotFoundError(`user '${userid}' does not exist.`, { userid })
      if (cfg.tokens.has(tokenid))
        throw new AlreadyExistsError(`token '${name}' for user '${userid}' already exists.`, { tokenid })
      cfg.tokens.set(tokenid, { tokenid, ...normalizeFields(fields) })
      const shadow = await loadSecrets(this.etcDir, TOKEN_SHADOW_FILE)
      shadow.set(tokenid, hash)
      await saveSecrets(this.etcDir, TOKEN_SHADOW_FILE, shadow)
      await saveUserConfig(this.etcDir, cfg)
    })
    return secret
  }

  /** Updates a token; with `regenerate` returns the new secret. @throws NotFoundError */
  async updateToken(
    userid: string,
    name: string,
    fields: TokenFields,
    options: { regenerate?: boolean; remove?: string[]; digest?: string } = {},
  ): Promise<string | undefined> {
    const tokenid = `${userid}!${name}`
    const secret = options.regenerate ? generateTokenSecret() : undefined
    const hash = secret === undefined ? undefined : await hashSecret(secret)
    await this.userLock()(async () => {
      await this.#checkDigest(userConfigPath(this.etcDir), options.digest)
      const cfg = await loadUserConfig(this.etcDir)
      const t = cfg.tokens.get(tokenid)
      if (!t) throw new NotFoundError(`token '${name}' of user '${userid}' does not exist.`, { tokenid })
      const next: Record<string, unknown> = { ...t, ...normalizeFields(fields) }
      if (fields.enable === true) delete next.enable
      if (fields.expire === 0) delete next.expire
      for (const k of options.remove ?? []) delete next[k]
      cfg.tokens.set(tokenid, next as unknown as TokenEntry)
      if (hash !== undefined) {
        const shadow = await loadSecrets(this.etcDir, TOKEN_SHADOW_FILE)
        shadow.set(tokenid, hash)
        await saveSecrets(this.etcDir, TOKEN_SHADOW_FILE, shadow)
      }
      await saveUserConfig(this.etcDir, cfg)
    })
    return secret
  }

  /** Deletes a token, its secret and its ACL entries. @throws NotFoundError */
  async deleteToken(userid: string, name: string, digest?: string): Promise<void> {
    const tokenid = `${userid}!${name}`
    await this.userLock()(async () => {
      await this.#checkDigest(userConfigPath(this.etcDir), digest)
      const cfg = await loadUserConfig(this.etcDir)
      if (!cfg.tokens.delete(tokenid))
        throw new NotFoundError(`token '${name}' of user '${userid}' does not exist.`, { tokenid })
      const shadow = await loadSecrets(this.etcDir, TOKEN_SHADOW_FILE)
      shadow.delete(tokenid)
      await saveSecrets(this.etcDir, TOKEN_SHADOW_FILE, shadow)
      await saveUserConfig(this.etcDir, cfg)
    })
    await this.aclLock()(async () => {
      const acl = await loadAclConfig(this.etcDir)
      if (removeAclEntriesOf(acl, tokenid) > 0) await saveAclConfig(this.etcDir, acl)
    })
  }

  /**
   * Adds or removes an ACL entry (PBS PUT /access/acl).
   * @throws ValidationError (path, role), NotFoundError `no such user.` / `no such API token.`
   */
  async modifyAcl(opts: {
    path: string
    role: string
    authid: string
    propagate?: boolean
    remove?: boolean
    digest?: string
  }): Promise<void> {
    if (!isRoleName(opts.role)) throw new ValidationError('role', opts.role, 'must be a built-in role name')
    const a = parseAuthid(opts.authid, 'auth-id')
    if (!opts.remove) {
      checkAclPath(opts.path)
      const { config } = await this.users()
      if (a.tokenName === undefined ? !config.users.has(a.userid) : !config.tokens.has(opts.authid))
        throw new NotFoundError(a.tokenName === undefined ? 'no such user.' : 'no such API token.', {
          authid: opts.authid,
        })
    }
    await this.aclLock()(async () => {
      await this.#checkDigest(aclConfigPath(this.etcDir), opts.digest)
      const acl = await loadAclConfig(this.etcDir)
      if (opts.remove) removeAclEntry(acl, opts.path, opts.authid, opts.role)
      else
        addAclEntry(acl, {
          path: opts.path,
          ugid: opts.authid,
          roleid: opts.role,
          propagate: opts.propagate ?? true,
        })
      await saveAclConfig(this.etcDir, acl)
    })
  }

  /** Runs `fn` on acl.cfg under its lock and saves it. */
  async updateAcl<T>(fn: (acl: AclConfig) => T | Promise<T>): Promise<T> {
    return this.aclLock()(async () => {
      const acl = await loadAclConfig(this.etcDir)
      const r = await fn(acl)
      await saveAclConfig(this.etcDir, acl)
      return r
    })
  }

  async #checkDigest(path: string, digest: string | undefined): Promise<void> {
    if (digest === undefined) return
    if (sha256(await readConfigFile(path)) !== digest)
      throw new ConflictError('detected modified configuration - file changed by other user? Try again.', {
        file: path,
      })
  }
}

/** Checks a pbs password: 8–64 characters, no control characters (the rule the API and CLI use). @throws ValidationError */
export function checkPassword(password: unknown): string {
  return parsePassword(password)
}

function normalizeFields<T extends object>(fields: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v
  return out as T
}

/** Hex SHA-256 of a config text (the `digest` PBS returns and checks). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

async function stampOf(path: string): Promise<string> {
  try {
    const s = await stat(path)
    return `${s.mtimeMs}:${s.size}:${s.ino}`
  } catch {
    return 'missing'
  }
}
