/**
 * Typed errors with stable codes. Every error the engine throws is a DatastoreError subclass whose
 * `code` equals its class name, carries structured `data` and the original error as `cause`, and
 * serialises with `toJSON`, so the same identity travels engine → API → client → CLI.
 *
 * Pure module (no node: imports): the web UI and src/api-types use it too. Only src/server maps
 * codes to HTTP statuses (see HTTP_STATUS_BY_CODE, which the server's error mapper reads).
 */

/** Structured, JSON-safe details attached to an error. */
export type ErrorData = Record<string, unknown>

/** Base class of every error pbs-store throws on purpose. */
export class DatastoreError extends Error {
  /** Stable machine-readable code; equals the class name. */
  readonly code: string = 'DatastoreError'
  /** Structured details (names of the objects involved, the rule, …). */
  readonly data: ErrorData

  constructor(message: string, data: ErrorData = {}, options?: ErrorOptions) {
    super(message, options)
    this.data = data
    this.name = new.target.name
  }

  /** JSON form sent over the API: code, message, data (never a stack). */
  toJSON(): { code: string; message: string; data: ErrorData } {
    return { code: this.code, message: this.message, data: this.data }
  }
}

/** An input (parameter, name, path, time …) broke a rule; nothing was changed. */
export class ValidationError extends DatastoreError {
  override readonly code = 'ValidationError'
  constructor(
    /** What the input is ("namespace", "backup-id", "--max-depth" …). */
    readonly input: string,
    value: unknown,
    /** The rule it broke, in words. */
    readonly rule: string,
    options?: ErrorOptions,
  ) {
    super(
      `invalid ${input} ${describeValue(value)} - ${rule}`,
      { input, value: safeValue(value), rule },
      options,
    )
  }
}

/** The named object does not exist. */
export class NotFoundError extends DatastoreError {
  override readonly code = 'NotFoundError'
}

/** The object to create exists already. */
export class AlreadyExistsError extends DatastoreError {
  override readonly code = 'AlreadyExistsError'
}

/** The operation conflicts with the current state (not empty, merge refused, protected …). */
export class ConflictError extends DatastoreError {
  override readonly code = 'ConflictError'
}

/** A lock could not be acquired; retrying later may succeed. */
export class LockBusyError extends DatastoreError {
  override readonly code = 'LockBusyError'
}

/** PBS still runs with legacy (directory) locking; structural operations are refused. */
export class LegacyLockingError extends DatastoreError {
  override readonly code = 'LegacyLockingError'
}

/** Stored bytes failed a check (CRC, digest, size, magic, checksum). */
export class CorruptionError extends DatastoreError {
  override readonly code = 'CorruptionError'
}

/** Encryption key missing, wrong, or not usable for this data. */
export class CryptoError extends DatastoreError {
  override readonly code = 'CryptoError'
}

/** The caller lacks a privilege. */
export class PermissionError extends DatastoreError {
  override readonly code = 'PermissionError'
}

/** The caller is not authenticated. */
export class AuthenticationError extends DatastoreError {
  override readonly code = 'AuthenticationError'
}

/** A long-running operation was aborted on request. */
export class AbortedError extends DatastoreError {
  override readonly code = 'AbortedError'
}

/** The datastore's maintenance mode refuses the operation (PBS answers 400 "datastore … is unavailable"). */
export class MaintenanceError extends DatastoreError {
  override readonly code = 'MaintenanceError'
}

/** A configuration file could not be parsed or is inconsistent. */
export class ConfigError extends DatastoreError {
  override readonly code = 'ConfigError'
}

/** An I/O or backend failure that is not one of the above. */
export class StorageError extends DatastoreError {
  override readonly code = 'StorageError'
}

/** Every error code with its HTTP status; a test checks each has a class and a docs section. */
export const HTTP_STATUS_BY_CODE = {
  DatastoreError: 500,
  ValidationError: 400,
  NotFoundError: 404,
  AlreadyExistsError: 409,
  ConflictError: 409,
  LockBusyError: 409,
  LegacyLockingError: 409,
  CorruptionError: 500,
  CryptoError: 400,
  PermissionError: 403,
  AuthenticationError: 401,
  AbortedError: 409,
  MaintenanceError: 400,
  ConfigError: 500,
  StorageError: 500,
} as const

/** The closed list of error codes. */
export type ErrorCode = keyof typeof HTTP_STATUS_BY_CODE

/** All error codes, enumerable. */
export const ERROR_CODES = Object.keys(HTTP_STATUS_BY_CODE) as ErrorCode[]

/** The classes by code, for the catalogue test and for rebuilding errors from JSON. */
export const ERROR_CLASSES: Record<ErrorCode, new (...args: never[]) => DatastoreError> = {
  DatastoreError,
  ValidationError,
  NotFoundError,
  AlreadyExistsError,
  ConflictError,
  LockBusyError,
  LegacyLockingError,
  CorruptionError,
  CryptoError,
  PermissionError,
  AuthenticationError,
  AbortedError,
  MaintenanceError,
  ConfigError,
  StorageError,
}

/** True when e is one of ours with the given code. */
export function isErrorCode(e: unknown, code: ErrorCode): e is DatastoreError {
  return e instanceof DatastoreError && e.code === code
}

/** Message of any thrown value, for wrapping ("… failed - <cause>"). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** Quote a value for a message, escaping control characters so hostile input cannot forge lines. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value
    return JSON.stringify(shown).replace(/^"|"$/g, "'")
  }
  return typeof value === 'undefined' ? '(missing)' : (JSON.stringify(safeValue(value)) ?? typeof value)
}

/** A bounded, JSON-safe copy of an offending value. */
function safeValue(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 300 ? `${value.slice(0, 300)}…` : value
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value
  if (typeof value === 'bigint') return value.toString()
  return typeof value
}
