/**
 * The error every API call of the client throws. It keeps what the server said (plain-text PBS
 * errors, `{code, message, data}` from our error mapper, or the ExtJS `{message, errors}` form)
 * so callers can show the message in plain words and still branch on status and code.
 */

import {
  AuthenticationError,
  ERROR_CLASSES,
  PermissionError,
  ValidationError,
  type DatastoreError,
  type ErrorCode,
} from '../errors.js'

/** Per-parameter messages of a "parameter verification failed" answer. */
export type ParameterErrors = Record<string, string>

/** An API request failed: HTTP status (0 = no answer), server code, message, parameter errors. */
export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number
  /** The server's error code (e.g. `ValidationError`, `NotFoundError`), or `HTTP_<status>`. */
  readonly code: string
  /** Structured details from the server (`data` of a DatastoreError), if any. */
  readonly data: Record<string, unknown>
  /** Per-parameter messages, if the server sent them. */
  readonly errors: ParameterErrors
  /** `METHOD path` of the failed request, for logs. */
  readonly request: string

  constructor(
    message: string,
    details: {
      status: number
      request: string
      code?: string | undefined
      data?: Record<string, unknown> | undefined
      errors?: ParameterErrors | undefined
    },
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'ApiError'
    this.status = details.status
    this.request = details.request
    this.code = details.code ?? (details.status === 0 ? 'NetworkError' : `HTTP_${details.status}`)
    this.data = details.data ?? {}
    this.errors = details.errors ?? {}
  }

  /** True when the session is gone (bad or expired ticket, bad CSRF token). */
  get isAuthentication(): boolean {
    return this.status === 401
  }

  /** Message plus the per-parameter messages, one per line, for display. */
  get fullMessage(): string {
    const lines = Object.entries(this.errors).map(([k, v]) => `${k}: ${v}`)
    return lines.length > 0 ? `${this.message}\n${lines.join('\n')}` : this.message
  }

  /** JSON form (no stack), like DatastoreError.toJSON. */
  toJSON(): { code: string; status: number; message: string; data: Record<string, unknown> } {
    return { code: this.code, status: this.status, message: this.message, data: this.data }
  }
}

/** True when `e` is an ApiError (optionally with one of the given statuses). */
export function isApiError(e: unknown, ...statuses: number[]): e is ApiError {
  return e instanceof ApiError && (statuses.length === 0 || statuses.includes(e.status))
}

/** The start of every permission failure message (PBS wording). */
const PERMISSION_PREFIX = 'permission check failed'

/**
 * The typed error (src/errors.ts) an API failure stands for, so a caller shows and handles it as
 * if the operation had failed locally: the class from the server's error code, its `data`, and
 * for a ValidationError the message rebuilt from input, value and rule (the local wording, not
 * PBS's "parameter verification failed"). A 403 always says "permission check failed" (PBS also
 * sends bare in-handler texts such as "backup owner check failed"). Failures without a known
 * code (no answer, foreign servers) stay ApiErrors.
 */
export function typedError(e: ApiError): DatastoreError | ApiError {
  const Cls = Object.hasOwn(ERROR_CLASSES, e.code) ? ERROR_CLASSES[e.code as ErrorCode] : undefined
  const message =
    e.status === 403 && !e.message.toLowerCase().startsWith(PERMISSION_PREFIX)
      ? `${PERMISSION_PREFIX} - ${e.message}`
      : e.message
  if (Cls === ValidationError) {
    const { input, value, rule } = e.data
    if (typeof input === 'string' && typeof rule === 'string')
      return new ValidationError(input, value, rule, { cause: e })
    return e
  }
  if (Cls !== undefined) {
    const Typed = Cls as unknown as new (
      m: string,
      d: Record<string, unknown>,
      o: ErrorOptions,
    ) => DatastoreError
    return new Typed(message, e.data, { cause: e })
  }
  if (e.status === 403) return new PermissionError(message, e.data, { cause: e })
  if (e.status === 401) return new AuthenticationError(message, e.data, { cause: e })
  return e
}

/** Response header in which pbs-store sends an error's `{code, data}` next to the PBS text body. */
export const ERROR_HEADER = 'x-pbs-store-error'

/**
 * Builds the ApiError for a failed response. Accepts the error shapes a PBS-style server can
 * send: plain text (PBS `json` format; pbs-store adds `{code, data}` in the ERROR_HEADER),
 * `{code?, message, data?}` (possibly wrapped as `{error: {...}}`) and the ExtJS
 * `{success: false, status, message, errors}`.
 */
export function errorFromBody(
  status: number,
  statusText: string,
  body: string,
  request: string,
  identityHeader?: string | null,
): ApiError {
  const identity = parseIdentity(identityHeader)
  const text = body.trim()
  let parsed: unknown
  if (text.startsWith('{')) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
  }
  if (parsed !== null && typeof parsed === 'object') {
    const obj = parsed as Record<string, unknown>
    const inner =
      obj.error !== null && typeof obj.error === 'object' ? (obj.error as Record<string, unknown>) : obj
    const message = typeof inner.message === 'string' && inner.message !== '' ? inner.message : undefined
    if (message !== undefined || typeof inner.code === 'string') {
      return new ApiError(message ?? `request failed with HTTP ${status}`, {
        status: typeof obj.status === 'number' && status === 200 ? obj.status : status,
        request,
        code: typeof inner.code === 'string' ? inner.code : undefined,
        data: isRecord(inner.data) ? inner.data : undefined,
        errors: stringRecord(inner.errors),
      })
    }
  }
  const message =
    text !== '' ? text : `request failed with HTTP ${status}${statusText ? ` ${statusText}` : ''}`
  return new ApiError(message, { status, request, code: identity?.code, data: identity?.data })
}

/** `{code, data}` from the identity header, if present and well-formed. */
function parseIdentity(
  header: string | null | undefined,
): { code?: string; data?: Record<string, unknown> } | undefined {
  if (header === undefined || header === null || header === '') return undefined
  try {
    const v: unknown = JSON.parse(header)
    if (!isRecord(v)) return undefined
    const out: { code?: string; data?: Record<string, unknown> } = {}
    if (typeof v.code === 'string') out.code = v.code
    if (isRecord(v.data)) out.data = v.data
    return out
  } catch {
    return undefined
  }
}

/** Plain object check. */
function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Keeps only string values of an `errors` map. */
function stringRecord(v: unknown): ParameterErrors | undefined {
  if (!isRecord(v)) return undefined
  const out: ParameterErrors = {}
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val
  return out
}
