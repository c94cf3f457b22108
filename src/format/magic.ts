/**
 * Magic numbers of the PBS binary formats (`pbs-datastore/src/file_formats.rs`).
 *
 * Each one is the first 8 bytes of SHA-256 over an ASCII string; the strings are kept next to the
 * bytes so a test can re-derive them. The bytes are literals rather than computed at import time,
 * so loading this module does no work.
 */

/** Length of every magic number in bytes. */
export const MAGIC_LENGTH = 8

/** Decodes a hex literal; treat the resulting Buffers as read-only. */
function magic(hex: string): Buffer {
  return Buffer.from(hex, 'hex')
}

/** DataBlob, plain payload. */
export const UNCOMPRESSED_BLOB_MAGIC_1_0 = magic('42ab3807be8370a1')
/** DataBlob, zstd-compressed payload. */
export const COMPRESSED_BLOB_MAGIC_1_0 = magic('31b958426fb6a37f')
/** DataBlob, AES-256-GCM encrypted payload. */
export const ENCRYPTED_BLOB_MAGIC_1_0 = magic('7b6785be222d4cf0')
/** DataBlob, zstd-compressed then encrypted payload. */
export const ENCR_COMPR_BLOB_MAGIC_1_0 = magic('e6591bbf0bbfd80b')
/** Fixed-size chunk index (`.fidx`). */
export const FIXED_SIZED_CHUNK_INDEX_1_0 = magic('2f7f41ed91fd0fcd')
/** Dynamic-size chunk index (`.didx`). */
export const DYNAMIC_SIZED_CHUNK_INDEX_1_0 = magic('1c914ea519bab3cd')
/** pxar catalog file (`.pcat1`); only recognised, never parsed here. */
export const PROXMOX_CATALOG_FILE_MAGIC_1_0 = magic('91fd60f9c46758d5')

/** The ASCII strings the magics are derived from, keyed by constant name (for tests and docs). */
export const MAGIC_SOURCES: Readonly<Record<string, string>> = Object.freeze({
  UNCOMPRESSED_BLOB_MAGIC_1_0: 'Proxmox Backup uncompressed blob v1.0',
  COMPRESSED_BLOB_MAGIC_1_0: 'Proxmox Backup zstd compressed blob v1.0',
  ENCRYPTED_BLOB_MAGIC_1_0: 'Proxmox Backup encrypted blob v1.0',
  ENCR_COMPR_BLOB_MAGIC_1_0: 'Proxmox Backup zstd compressed encrypted blob v1.0',
  FIXED_SIZED_CHUNK_INDEX_1_0: 'Proxmox Backup fixed sized chunk index v1.0',
  DYNAMIC_SIZED_CHUNK_INDEX_1_0: 'Proxmox Backup dynamic sized chunk index v1.0',
  PROXMOX_CATALOG_FILE_MAGIC_1_0: 'Proxmox Backup Catalog file v1.0',
})

/** True when `buf` starts with the 8 bytes of `magicBytes`. */
export function hasMagic(buf: Uint8Array, magicBytes: Uint8Array): boolean {
  if (buf.length < MAGIC_LENGTH) return false
  for (let i = 0; i < MAGIC_LENGTH; i++) if (buf[i] !== magicBytes[i]) return false
  return true
}
