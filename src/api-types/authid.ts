import { ValidationError } from '../errors.js'
import { SAFE_ID_REGEX } from './safe-id.js'

/** A parsed Authid: a user (`user@realm`) or one of its API tokens (`user@realm!token`). */
export interface Authid {
  /** `user@realm` */
  readonly userid: string
  /** Token name, when this is a token. */
  readonly tokenName?: string
}

const USER_NAME_REGEX = /^[^\s:/\p{Cc}]+$/u
const REALM_REGEX = /^[A-Za-z][A-Za-z0-9._-]+$/

/**
 * Parses `user@realm` or `user@realm!token` with the PBS rules.
 * @throws ValidationError naming the input and the rule.
 */
export function parseAuthid(value: unknown, input = 'auth-id'): Authid {
  if (typeof value !== 'string') throw new ValidationError(input, value, "must be a string like 'user@pbs'")
  const bang = value.indexOf('!')
  const userid = bang === -1 ? value : value.slice(0, bang)
  parseUserid(userid, input, value)
  if (bang === -1) return { userid }
  const tokenName = value.slice(bang + 1)
  if (!SAFE_ID_REGEX.test(tokenName) || tokenName.length > 64)
    throw new ValidationError(
      input,
      value,
      'token name must be a safe id (letters, digits, ".", "_", "-") of at most 64 characters',
    )
  return { userid, tokenName }
}

/**
 * Checks a `user@realm` user id and returns it.
 * @throws ValidationError naming the input and the rule.
 */
export function parseUserid(value: unknown, input = 'userid', whole: unknown = value): string {
  if (typeof value !== 'string') throw new ValidationError(input, whole, "must be a string like 'user@pbs'")
  const at = value.lastIndexOf('@')
  if (at <= 0) throw new ValidationError(input, whole, "must have the form 'user@realm'")
  const name = value.slice(0, at)
  const realm = value.slice(at + 1)
  if (!USER_NAME_REGEX.test(name))
    throw new ValidationError(
      input,
      whole,
      "user name must not contain white space, ':', '/' or control characters",
    )
  if (!REALM_REGEX.test(realm) || realm.length > 32)
    throw new ValidationError(
      input,
      whole,
      'realm must start with a letter and have 2 to 32 letters, digits, ".", "_" or "-"',
    )
  if (value.length < 3 || value.length > 64)
    throw new ValidationError(input, whole, 'user id must be 3 to 64 characters')
  return value
}

/** The `user@realm[!token]` form. */
export function formatAuthid(authid: Authid): string {
  return authid.tokenName === undefined ? authid.userid : `${authid.userid}!${authid.tokenName}`
}

/** True when `owner` is `auth` itself or a token of the user `auth` (PBS check_backup_owner). */
export function ownerMatches(owner: string, auth: string): boolean {
  if (owner === auth) return true
  const o = parseAuthid(owner, 'owner')
  const a = parseAuthid(auth, 'auth-id')
  return o.tokenName !== undefined && a.tokenName === undefined && o.userid === a.userid
}
