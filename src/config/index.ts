/** Config layer: section-config and property-string codecs, atomic config files, datastore.cfg. */
export * from './section-config.js'
export * from './property-string.js'
export * from './config-file.js'
export * from './datastore-config.js'
export * from './s3-config.js'
