/** Input rules of the dialogs, the same the API applies (spec/pbs-api.md §1.6). */
import { MAX_NAMESPACE_DEPTH, SAFE_ID_REGEX } from '../../src/api-types/index.js'
import { nsDepth } from './format.js'

/** Longest new name in the move-namespace dialog (move.md §6). */
export const MOVE_NAME_MAX = 31

/** Longest namespace name when creating one (API: SAFE_ID, 1–32). */
export const CREATE_NAME_MAX = 32

export { MAX_NAMESPACE_DEPTH }

/** Why a namespace name is not acceptable, or undefined when it is. */
export function namespaceNameProblem(name: string, maxLength: number): string | undefined {
  if (name === '') return 'A name is required.'
  if (name.length > maxLength) return `At most ${maxLength} characters (this one has ${name.length}).`
  if (!SAFE_ID_REGEX.test(name))
    return "Use letters, digits, '.', '_' and '-' only, starting with a letter, digit or '_'."
  return undefined
}

/** Can a namespace be created below `parent`? */
export function canHaveChildren(parent: string): boolean {
  return nsDepth(parent) < MAX_NAMESPACE_DEPTH
}

/** Why an owner (auth id) is not acceptable, or undefined. */
export function ownerProblem(owner: string): string | undefined {
  if (owner === '') return 'An owner is required.'
  if (!/^[^\s:/@]+@[A-Za-z0-9_][A-Za-z0-9._-]*(![A-Za-z0-9_][A-Za-z0-9._-]*)?$/.test(owner))
    return "Use the form user@realm or user@realm!token, e.g. 'backup@pbs'."
  return undefined
}
