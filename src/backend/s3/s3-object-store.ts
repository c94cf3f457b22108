/**
 * S3ObjectStore: the one place pbs-store talks S3 (spec §8.2). One bucket, one store prefix
 * (the datastore name; keys given to it are relative), bounded concurrency over a keep-alive
 * agent sized to it, retries with exponential backoff and full jitter, request counters per
 * kind, and failures mapped once to typed errors.
 *
 * The SDK's own retry layer is switched off (maxAttempts 1) so that every HTTP attempt passes
 * through #attempt: counted, bounded by the limiter, and retried by the same policy whether it
 * failed with a 5xx, SlowDown, throttling or a reset connection.
 */
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import pLimit from 'p-limit'
import type { LimitFunction } from 'p-limit'

import { AbortedError, ValidationError } from '../../errors.js'
import {
  S3DeleteError,
  isNoSuchKey,
  isRetryableS3Error,
  s3ErrorInfo,
  toS3StorageError,
  describeS3Error,
} from './s3-errors.js'
import type { S3DeleteFailure, S3RequestKind } from './s3-errors.js'
import { checkRelativeKey } from './s3-keys.js'

/** Provider quirks of s3.cfg `provider-quirks` (PBS names). */
export const S3_PROVIDER_QUIRKS = ['skip-if-none-match-header', 'delete-objects-via-delete-object'] as const
/** One provider quirk. */
export type S3ProviderQuirk = (typeof S3_PROVIDER_QUIRKS)[number]

/** Default region (PBS). */
export const S3_DEFAULT_REGION = 'us-west-1'
/** Default number of requests in flight per store. */
export const S3_DEFAULT_CONCURRENCY = 32
/** Default attempts per request (first try included). */
export const S3_DEFAULT_MAX_ATTEMPTS = 5
/** Keys per DeleteObjects request and per list page (the S3 maximum). */
export const S3_BATCH_SIZE = 1000

/** How to reach one bucket, and how hard to push it. */
export interface S3ObjectStoreOptions {
  /** Endpoint URL; may contain `{{bucket}}` (virtual-host style, as the first host label) and `{{region}}`. */
  endpoint: string
  bucket: string
  accessKey: string
  /** Never logged, never part of an error. */
  secretKey: string
  /** Default us-west-1. */
  region?: string
  /** Path style (`/<bucket>/<key>`) instead of virtual-host style. */
  pathStyle?: boolean
  /** Overrides the endpoint URL's port. */
  port?: number
  /** Store prefix (the datastore name); '' or absent = keys are used as they are. */
  prefix?: string
  providerQuirks?: readonly S3ProviderQuirk[]
  /** Maximum requests in flight (default 32); the keep-alive agent gets as many sockets. */
  concurrency?: number
  /** Attempts per request including the first (default 5). */
  maxAttempts?: number
  /** First backoff step in ms (default 100); the n-th retry waits random(0, base·2^(n-1)). */
  retryBaseDelayMs?: number
  /** Backoff cap in ms (default 10 000). */
  retryMaxDelayMs?: number
  /** Socket idle timeout per request in ms (default 120 000). */
  requestTimeoutMs?: number
  /** TCP/TLS connect timeout in ms (default 10 000). */
  connectionTimeoutMs?: number
}

/** Per-request options. */
export interface S3RequestOptions {
  /** Aborts waiting, retrying and the request in flight. */
  signal?: AbortSignal
}

/** Options of putObject. */
export interface S3PutOptions extends S3RequestOptions {
  /** false → conditional create (`If-None-Match: *`); an existing object is left alone. */
  replace: boolean
}

/** Result of putObject: 'created' (or replaced), or 'exists' for a no-replace put of an existing key. */
export type S3PutResult = 'created' | 'exists'

/** One listed object; `key` is relative to the store prefix. */
export interface S3ObjectInfo {
  key: string
  size: number
  lastModified?: Date
  etag?: string
}

/** Request counters: attempts per kind (what a provider bills) and how many of them were retries. */
export interface S3RequestCounters {
  requests: Record<S3RequestKind, number>
  retries: Record<S3RequestKind, number>
}

const KINDS: readonly S3RequestKind[] = ['get', 'head', 'put', 'list', 'copy', 'delete']
const zeroCounts = (): Record<S3RequestKind, number> =>
  Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<S3RequestKind, number>

/** Encodes a key for `x-amz-copy-source`: each '/'-separated segment URI-encoded, the slashes kept. */
export function encodeCopySourceKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

/**
 * Resolves an endpoint template for the SDK: `{{region}}` is substituted; `{{bucket}}` must be
 * the first host label of a virtual-host style endpoint and is dropped, since the SDK puts the
 * bucket there itself.
 * @throws ValidationError naming `endpoint`.
 */
export function resolveS3Endpoint(
  template: string,
  opts: { region: string; pathStyle: boolean; port?: number },
): string {
  const withRegion = template.replaceAll('{{region}}', opts.region)
  let url: URL
  try {
    url = new URL(withRegion.replaceAll('{{bucket}}', 'bucket-placeholder'))
  } catch {
    throw new ValidationError('endpoint', template, 'must be an http(s) URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValidationError('endpoint', template, 'must be an http(s) URL')
  let host = url.hostname
  if (withRegion.includes('{{bucket}}')) {
    if (opts.pathStyle)
      throw new ValidationError(
        'endpoint',
        template,
        'must not contain {{bucket}} with path-style addressing',
      )
    if (!host.startsWith('bucket-placeholder.') || withRegion.split('{{bucket}}').length !== 2)
      throw new ValidationError('endpoint', template, "may contain '{{bucket}}' only as the first host label")
    host = host.slice('bucket-placeholder.'.length)
  }
  const port = opts.port ?? (url.port === '' ? undefined : Number(url.port))
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.protocol}//${host.includes(':') ? `[${host}]` : host}${port === undefined ? '' : `:${port}`}${path}`
}

/** A bucket plus store prefix, spoken to over S3 with bounded concurrency and retries. */
export class S3ObjectStore {
  /** Bucket name. */
  readonly bucket: string
  /** Store prefix ('' = none). */
  readonly prefix: string
  /** Requests in flight at most. */
  readonly concurrency: number
  readonly #client: S3Client
  readonly #limit: LimitFunction
  readonly #quirks: ReadonlySet<S3ProviderQuirk>
  readonly #maxAttempts: number
  readonly #baseDelay: number
  readonly #maxDelay: number
  #counters: S3RequestCounters = { requests: zeroCounts(), retries: zeroCounts() }

  constructor(options: S3ObjectStoreOptions) {
    const concurrency = options.concurrency ?? S3_DEFAULT_CONCURRENCY
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024)
      throw new ValidationError('S3 concurrency', concurrency, 'must be an integer 1..1024')
    const maxAttempts = options.maxAttempts ?? S3_DEFAULT_MAX_ATTEMPTS
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20)
      throw new ValidationError('S3 max attempts', maxAttempts, 'must be an integer 1..20')
    const prefix = options.prefix ?? ''
    if (prefix.startsWith('/') || prefix.endsWith('/'))
      throw new ValidationError('S3 store prefix', prefix, "must not start or end with '/'")
    const region = options.region ?? S3_DEFAULT_REGION
    const pathStyle = options.pathStyle ?? false
    const endpoint = resolveS3Endpoint(options.endpoint, {
      region,
      pathStyle,
      ...(options.port === undefined ? {} : { port: options.port }),
    })
    this.bucket = options.bucket
    this.prefix = prefix
    this.concurrency = concurrency
    this.#limit = pLimit(concurrency)
    this.#quirks = new Set(options.providerQuirks ?? [])
    this.#maxAttempts = maxAttempts
    this.#baseDelay = options.retryBaseDelayMs ?? 100
    this.#maxDelay = options.retryMaxDelayMs ?? 10_000
    // The SDK is pinned, and its Node 20 warning is about later releases: it would only
    // clutter every CLI run's stderr. An explicit setting by the user wins.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    // One socket per request slot, kept alive: a move makes thousands of small requests.
    const agentOptions = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency }
    this.#client = new S3Client({
      endpoint,
      region,
      forcePathStyle: pathStyle,
      credentials: { accessKeyId: options.accessKey, secretAccessKey: options.secretKey },
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent(agentOptions),
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        // Without it a stalled socket only logs a warning and the request hangs on.
        throwOnRequestTimeout: true,
      }),
    })
  }

  /** A copy of the request counters. */
  counters(): S3RequestCounters {
    return { requests: { ...this.#counters.requests }, retries: { ...this.#counters.retries } }
  }

  /** Sets every counter back to 0. */
  resetCounters(): void {
    this.#counters = { requests: zeroCounts(), retries: zeroCounts() }
  }

  /** Closes the keep-alive sockets; the store is unusable afterwards. */
  destroy(): void {
    this.#client.destroy()
  }

  /** The full object key of a relative key. */
  fullKey(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`
  }

  /**
   * Uploads `body`. With replace=false the PUT carries `If-None-Match: *` and an existing object
   * gives 'exists' (412), not an error; with the quirk skip-if-none-match-header the condition
   * is left out (as PBS does), so the provider overwrites.
   * @throws StorageError after the retry budget.
   */
  async putObject(key: string, body: Uint8Array | string, opts: S3PutOptions): Promise<S3PutResult> {
    checkRelativeKey(key)
    const conditional = !opts.replace && !this.#quirks.has('skip-if-none-match-header')
    return this.#request('put', 'put', key, opts.signal, async (http): Promise<S3PutResult> => {
      try {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.fullKey(key),
            Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
            ContentType: 'application/octet-stream',
            ...(conditional ? { IfNoneMatch: '*' } : {}),
          }),
          http,
        )
        return 'created'
      } catch (e) {
        // 412: the object exists. After a retried attempt this may be our own earlier write whose
        // response was lost - either way the key now holds content that was meant not to change.
        if (conditional && s3ErrorInfo(e).status === 412) return 'exists'
        throw e
      }
    })
  }

  /**
   * Downloads an object; undefined when it does not exist.
   * @throws StorageError (NotFoundError when the bucket is missing).
   */
  async getObject(key: string, opts: S3RequestOptions = {}): Promise<Buffer | undefined> {
    checkRelativeKey(key)
    return this.#request('get', 'get', key, opts.signal, async (http) => {
      try {
        const res = await this.#client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
          http,
        )
        // Reading the body is part of the attempt: a reset mid-body is retried like any other.
        return res.Body === undefined ? Buffer.alloc(0) : Buffer.from(await res.Body.transformToByteArray())
      } catch (e) {
        if (isNoSuchKey(e)) return undefined
        throw e
      }
    })
  }

  /** Size and metadata of an object; undefined when it does not exist. */
  async headObject(key: string, opts: S3RequestOptions = {}): Promise<S3ObjectInfo | undefined> {
    checkRelativeKey(key)
    return this.#request('head', 'head', key, opts.signal, async (http) => {
      try {
        const res = await this.#client.send(
          new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
          http,
        )
        return {
          key,
          size: res.ContentLength ?? 0,
          ...(res.LastModified === undefined ? {} : { lastModified: res.LastModified }),
          ...(res.ETag === undefined ? {} : { etag: res.ETag }),
        }
      } catch (e) {
        if (isNoSuchKey(e)) return undefined
        throw e
      }
    })
  }

  /**
   * Checks that the bucket exists and the credentials work (HEAD bucket).
   * @throws NotFoundError / StorageError
   */
  async headBucket(opts: S3RequestOptions = {}): Promise<void> {
    await this.#request('head', 'head-bucket', undefined, opts.signal, async (http) => {
      try {
        await this.#client.send(new HeadBucketCommand({ Bucket: this.bucket }), http)
      } catch (e) {
        // HEAD has no body, so a missing bucket is a bare 404.
        if (s3ErrorInfo(e).status === 404) {
          throw Object.assign(new Error(`bucket does not exist`), {
            code: 'NoSuchBucket',
            $metadata: { httpStatusCode: 404 },
          })
        }
        throw e
      }
    })
  }

  /**
   * Lists objects under a relative prefix, one page (≤ 1000) at a time; keys come back relative.
   * Use a prefix ending in '/' for "directory" semantics ('' lists the whole store).
   */
  async *listObjectPages(prefix: string, opts: S3RequestOptions = {}): AsyncGenerator<S3ObjectInfo[]> {
    const full = this.prefix === '' ? prefix : `${this.prefix}/${prefix}`
    const strip = this.prefix === '' ? 0 : this.prefix.length + 1
    let token: string | undefined
    do {
      const res = await this.#request('list', 'list', prefix, opts.signal, (http) =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: full,
            MaxKeys: S3_BATCH_SIZE,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          http,
        ),
      )
      const page: S3ObjectInfo[] = []
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined) continue
        page.push({
          key: o.Key.slice(strip),
          size: o.Size ?? 0,
          ...(o.LastModified === undefined ? {} : { lastModified: o.LastModified }),
          ...(o.ETag === undefined ? {} : { etag: o.ETag }),
        })
      }
      if (page.length > 0) yield page
      token = res.IsTruncated === true ? res.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  /** Lists objects under a relative prefix (paged internally, 1000 per request). */
  async *listObjects(prefix: string, opts: S3RequestOptions = {}): AsyncGenerator<S3ObjectInfo> {
    for await (const page of this.listObjectPages(prefix, opts)) yield* page
  }

  /**
   * Server-side copy inside the bucket (`x-amz-copy-source` URI-encoded per segment,
   * `x-amz-metadata-directive: REPLACE`); the target is replaced if it exists.
   * @throws NotFoundError when the source does not exist; StorageError otherwise.
   */
  async copyObject(source: string, target: string, opts: S3RequestOptions = {}): Promise<void> {
    checkRelativeKey(source, 'S3 copy source key')
    checkRelativeKey(target, 'S3 copy target key')
    await this.#request('copy', 'copy', source, opts.signal, (http) =>
      this.#client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(target),
          CopySource: `${this.bucket}/${encodeCopySourceKey(this.fullKey(source))}`,
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
        }),
        http,
      ),
    )
  }

  /**
   * Deletes keys in DeleteObjects batches of ≤ 1000 (in parallel, bounded); deleting an absent
   * key succeeds. With the quirk delete-objects-via-delete-object, one DELETE per key.
   * Returns the number of keys deleted.
   * @throws S3DeleteError listing every key that was not deleted, after all batches ran.
   */
  async deleteObjects(keys: readonly string[], opts: S3RequestOptions = {}): Promise<number> {
    for (const k of keys) checkRelativeKey(k)
    const unique = [...new Set(keys)]
    const failed: S3DeleteFailure[] = []
    let deleted = 0
    let firstCause: unknown
    if (this.#quirks.has('delete-objects-via-delete-object')) {
      await Promise.all(
        unique.map(async (key) => {
          try {
            await this.#request('delete', 'delete', key, opts.signal, (http) =>
              this.#client.send(
                new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
                http,
              ),
            )
            deleted += 1
          } catch (e) {
            if (e instanceof AbortedError) throw e
            firstCause ??= e
            failed.push({ key, ...codeOf(e), message: describeS3Error(causeOf(e)) })
          }
        }),
      )
    } else {
      const batches: string[][] = []
      for (let i = 0; i < unique.length; i += S3_BATCH_SIZE) batches.push(unique.slice(i, i + S3_BATCH_SIZE))
      await Promise.all(
        batches.map(async (batch) => {
          try {
            const res = await this.#request('delete', 'delete', batch[0], opts.signal, (http) =>
              this.#client.send(
                new DeleteObjectsCommand({
                  Bucket: this.bucket,
                  Delete: { Objects: batch.map((k) => ({ Key: this.fullKey(k) })), Quiet: true },
                }),
                http,
              ),
            )
            const strip = this.prefix === '' ? 0 : this.prefix.length + 1
            const errors = res.Errors ?? []
            for (const err of errors) {
              failed.push({
                key: (err.Key ?? '').slice(strip),
                ...(err.Code === undefined ? {} : { code: err.Code }),
                message: err.Message ?? 'delete failed',
              })
            }
            deleted += batch.length - errors.length
          } catch (e) {
            if (e instanceof AbortedError) throw e
            firstCause ??= e
            const message = describeS3Error(causeOf(e))
            for (const key of batch) failed.push({ key, ...codeOf(e), message })
          }
        }),
      )
    }
    if (failed.length > 0) {
      failed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      throw new S3DeleteError(
        this.bucket,
        failed,
        deleted,
        firstCause === undefined ? undefined : { cause: firstCause },
      )
    }
    return deleted
  }

  /**
   * Deletes every object under a relative prefix, which must end in '/' (so `vm/100/` never
   * touches `vm/1000/`). Lists a page, deletes it while the next page is listed. Returns the
   * number of keys deleted.
   * @throws ValidationError for a prefix without trailing '/'; S3DeleteError / StorageError.
   */
  async deletePrefix(prefix: string, opts: S3RequestOptions = {}): Promise<number> {
    if (!prefix.endsWith('/')) throw new ValidationError('S3 delete prefix', prefix, "must end in '/'")
    checkRelativeKey(prefix, 'S3 delete prefix')
    let deleted = 0
    const pending: Promise<number>[] = []
    for await (const page of this.listObjectPages(prefix, opts)) {
      const p = this.deleteObjects(
        page.map((o) => o.key),
        opts,
      )
      p.catch(() => undefined) // observed below; avoid an unhandled rejection while listing continues
      pending.push(p)
    }
    const results = await Promise.allSettled(pending)
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    for (const r of results) if (r.status === 'fulfilled') deleted += r.value
    if (failures.length === 0) return deleted
    const failed: S3DeleteFailure[] = []
    for (const f of failures) {
      if (f.reason instanceof S3DeleteError) {
        failed.push(...f.reason.failed)
        deleted += Number(f.reason.data.deleted ?? 0)
      } else throw f.reason
    }
    throw new S3DeleteError(this.bucket, failed, deleted, { cause: failures[0]?.reason })
  }

  /**
   * Runs one request with the limiter, counting and retrying; maps the final failure to a typed
   * error (the SDK error stays its `cause`).
   */
  async #request<T>(
    kind: S3RequestKind,
    op: string,
    key: string | undefined,
    signal: AbortSignal | undefined,
    send: (http: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (isAborted(signal)) throw this.#aborted(op, key)
      try {
        return await this.#limit(() => {
          this.#counters.requests[kind] += 1
          return send(signal === undefined ? {} : { abortSignal: signal })
        })
      } catch (e) {
        if (isAborted(signal)) throw this.#aborted(op, key)
        if (attempt >= this.#maxAttempts || !isRetryableS3Error(e))
          throw toS3StorageError(e, {
            op,
            bucket: this.bucket,
            ...(key === undefined ? {} : { key }),
            attempts: attempt,
          })
        this.#counters.retries[kind] += 1
        await sleep(this.#backoff(attempt), signal)
      }
    }
  }

  /** Full jitter: random(0, min(cap, base·2^(attempt-1))). */
  #backoff(attempt: number): number {
    return Math.random() * Math.min(this.#maxDelay, this.#baseDelay * 2 ** (attempt - 1))
  }

  #aborted(op: string, key: string | undefined): AbortedError {
    return new AbortedError(`S3 ${op} of '${key ?? this.bucket}' aborted`, { op, bucket: this.bucket, key })
  }
}

function codeOf(e: unknown): { code?: string } {
  const { code } = s3ErrorInfo(causeOf(e))
  return code === undefined ? {} : { code }
}

/** The SDK error behind a typed error, or the error itself. */
function causeOf(e: unknown): unknown {
  return e instanceof Error && e.cause !== undefined ? e.cause : e
}

/** Whether the signal has fired (a function, so TS does not narrow it across awaits). */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** Waits `ms`, ending early (without throwing) when the signal aborts; the caller checks it. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
