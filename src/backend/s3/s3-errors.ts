/**
 * One place that turns S3 SDK and network failures into pbs-store's typed errors, and decides
 * which failures are worth retrying. Messages never contain credentials: only the operation,
 * bucket, key, HTTP status and the service's error code/message.
 */
import { NotFoundError, StorageError, errorMessage } from '../../errors.js'

/** Request kinds, as counted by S3ObjectStore (and billed by providers). */
export type S3RequestKind = 'get' | 'head' | 'put' | 'list' | 'copy' | 'delete'

/** What we can read off any error the SDK or the HTTP layer throws. */
export interface S3ErrorInfo {
  /** HTTP status, when a response arrived. */
  status: number | undefined
  /** S3 error code (`NoSuchKey`, `SlowDown` …) or the Node error code (`ECONNRESET` …). */
  code: string | undefined
}

/** Network-level failures that are safe to retry (the request may or may not have reached the server). */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTCONN',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
])

/** S3 error codes that mean "slow down / try again" even without a 5xx status. */
const RETRYABLE_S3_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
  'ConditionalRequestConflict',
  'RequestTimeTooSkewed',
])

/** Status and code of an SDK, HTTP or network error. */
export function s3ErrorInfo(e: unknown): S3ErrorInfo {
  if (typeof e !== 'object' || e === null) return { status: undefined, code: undefined }
  const err = e as {
    name?: unknown
    code?: unknown
    Code?: unknown
    $metadata?: { httpStatusCode?: unknown }
  }
  const status = typeof err.$metadata?.httpStatusCode === 'number' ? err.$metadata.httpStatusCode : undefined
  let code: string | undefined
  if (typeof err.code === 'string') code = err.code
  else if (typeof err.Code === 'string') code = err.Code
  else if (typeof err.name === 'string' && err.name !== 'Error') code = err.name
  return { status, code }
}

/** True for failures that a later attempt may not see: 5xx, 429, throttling, resets and timeouts. */
export function isRetryableS3Error(e: unknown): boolean {
  if (e instanceof Error && e.name === 'AbortError') return false
  const { status, code } = s3ErrorInfo(e)
  if (status !== undefined && (status >= 500 || status === 429)) return true
  if (code !== undefined && (RETRYABLE_S3_CODES.has(code) || RETRYABLE_NETWORK_CODES.has(code))) return true
  // A response that ended mid-body or a dropped socket sometimes carries no code, only a message.
  if (
    status === undefined &&
    e instanceof Error &&
    /socket hang up|ECONNRESET|EPIPE|premature/i.test(e.message)
  )
    return true
  return false
}

/** True when the error says the object (not the bucket) does not exist. */
export function isNoSuchKey(e: unknown): boolean {
  const { status, code } = s3ErrorInfo(e)
  return code === 'NoSuchKey' || (status === 404 && (code === 'NotFound' || code === undefined))
}

/** The one-line cause of an S3 failure: "HTTP 503 SlowDown: Please reduce …" or a network error. */
export function describeS3Error(e: unknown): string {
  const { status, code } = s3ErrorInfo(e)
  const message = errorMessage(e)
  const parts: string[] = []
  if (status !== undefined) parts.push(`HTTP ${status}`)
  if (code !== undefined && code !== message) parts.push(code)
  const head = parts.join(' ')
  if (head === '') return message
  return message === '' || message === code || message === 'UnknownError' ? head : `${head}: ${message}`
}

/** Context of a failed request, for the typed error. */
export interface S3FailureContext {
  /** What was being done: 'put', 'get', 'copy' … */
  op: string
  bucket: string
  /** Relative key (or prefix), when the request was about one. */
  key?: string
  /** Number of attempts made. */
  attempts?: number
}

/**
 * Maps a failure to a typed error: NoSuchKey / NoSuchBucket → NotFoundError, everything else →
 * StorageError. Data: { op, bucket, key, status, code, attempts }.
 */
export function toS3StorageError(e: unknown, ctx: S3FailureContext): StorageError | NotFoundError {
  if (e instanceof StorageError || e instanceof NotFoundError) return e
  const { status, code } = s3ErrorInfo(e)
  const what = ctx.key === undefined ? `bucket '${ctx.bucket}'` : `'${ctx.key}' in bucket '${ctx.bucket}'`
  const after = ctx.attempts !== undefined && ctx.attempts > 1 ? ` (after ${ctx.attempts} attempts)` : ''
  const data = {
    op: ctx.op,
    bucket: ctx.bucket,
    ...(ctx.key === undefined ? {} : { key: ctx.key }),
    ...(status === undefined ? {} : { status }),
    ...(code === undefined ? {} : { code }),
    ...(ctx.attempts === undefined ? {} : { attempts: ctx.attempts }),
  }
  const message = `S3 ${ctx.op} of ${what} failed${after} - ${describeS3Error(e)}`
  if (code === 'NoSuchKey' || code === 'NoSuchBucket') return new NotFoundError(message, data, { cause: e })
  return new StorageError(message, data, { cause: e })
}

/** One key that a DeleteObjects request (or a single DELETE) did not delete. */
export interface S3DeleteFailure {
  key: string
  code?: string
  message: string
}

/**
 * Some keys of a batch delete failed; `failed` lists them (code stays 'StorageError', data has
 * { op: 'delete', bucket, failed: [{key, code, message}], deleted }).
 */
export class S3DeleteError extends StorageError {
  /** The keys that were not deleted, with the reason per key. */
  readonly failed: readonly S3DeleteFailure[]

  constructor(bucket: string, failed: readonly S3DeleteFailure[], deleted: number, options?: ErrorOptions) {
    const first = failed[0]
    const sample =
      first === undefined ? '' : ` - first: '${first.key}': ${first.code ?? ''} ${first.message}`.trimEnd()
    super(
      `S3 delete in bucket '${bucket}' failed for ${failed.length} key(s) (${deleted} deleted)${sample}`,
      { op: 'delete', bucket, failed: failed.map((f) => ({ ...f })), deleted },
      options,
    )
    this.failed = failed
  }
}
