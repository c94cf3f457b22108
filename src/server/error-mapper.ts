/**
 * The one place where errors become HTTP answers (ANCHORS §9 rule 2).
 *
 * Status: a DatastoreError's code through HTTP_STATUS_BY_CODE (400 ValidationError, 401, 403, 404,
 * 409 conflicts and busy locks, 500 otherwise); fastify's own request errors (bad JSON, body too
 * large, unsupported content type) are 400 as in PBS; anything unexpected is a generic 500 whose
 * details go to the server log only — never a stack trace or a secret in the response.
 *
 * Body, `json` format: PBS sends the plain message text (with a JSON content type) and existing
 * clients show it verbatim, so we do too; the error's identity (`code`, `data`) travels in the
 * `X-PBS-Store-Error` header as compact ASCII JSON for our own client. `extjs` format: status 200
 * with `{success:false, status, message, errors}` as PBS, plus `code` and `data`.
 */
import { DatastoreError, HTTP_STATUS_BY_CODE, ValidationError, type ErrorCode } from '../errors.js'
import { PARAMETER_ERRORS, formatParameterErrors } from './params.js'

/** Header carrying `{code, data}` of an error. */
export const ERROR_HEADER = 'x-pbs-store-error'

/** An error ready to send. */
export interface MappedError {
  status: number
  /** The message text (PBS body). */
  message: string
  code: string
  data: Record<string, unknown>
  /** Per-parameter messages (ExtJS `errors`). */
  errors: Record<string, string>
  /** True when details were hidden (log the original). */
  internal: boolean
}

/** Maps any thrown value to status, message and identity. */
export function mapError(e: unknown): MappedError {
  if (e instanceof DatastoreError) {
    const status = (HTTP_STATUS_BY_CODE as Record<string, number>)[e.code as ErrorCode] ?? 500
    // Every ValidationError names its input and rule: PBS's parameter-error form says both.
    const params =
      PARAMETER_ERRORS.get(e) ??
      (e instanceof ValidationError ? [{ param: e.input, message: e.rule }] : undefined)
    const errors: Record<string, string> = {}
    for (const p of params ?? []) errors[p.param] = p.message
    const internal = status >= 500
    return {
      status,
      message: params ? formatParameterErrors(params) : e.message,
      code: e.code,
      data: e.data,
      errors,
      internal,
    }
  }
  const fe = e as { statusCode?: unknown; code?: unknown; message?: unknown }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const message =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'Request body too large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type'
          : typeof fe.message === 'string'
            ? fe.message
            : 'bad request'
    return { status: 400, message, code: 'ValidationError', data: {}, errors: {}, internal: false }
  }
  return {
    status: 500,
    message: 'internal server error',
    code: 'DatastoreError',
    data: {},
    errors: {},
    internal: true,
  }
}

/** The header value for an error's identity: compact JSON, non-ASCII escaped (headers are Latin-1). */
export function errorHeaderValue(m: MappedError): string {
  return JSON.stringify({ code: m.code, data: m.data }).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** The ExtJS error body. */
export function extjsErrorBody(m: MappedError): Record<string, unknown> {
  return {
    success: false,
    status: m.status,
    message: Object.keys(m.errors).length > 0 ? 'parameter verification errors' : m.message,
    errors: m.errors,
    code: m.code,
    data: m.data,
  }
}
