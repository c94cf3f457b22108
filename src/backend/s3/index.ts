/** S3 backend building blocks: key layout, the bucket client, typed S3 errors. */
export * from './s3-keys.js'
export * from './s3-errors.js'
export * from './s3-object-store.js'
