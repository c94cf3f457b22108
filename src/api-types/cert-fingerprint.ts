import { ValidationError } from '../errors.js'

const HEX64 = /^[0-9a-fA-F]{64}$/
const COLON_PAIRS = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31}$/

/**
 * Checks a SHA-256 certificate fingerprint — 32 bytes as `xx:xx:…` (PBS's
 * CERT_FINGERPRINT_SHA256_SCHEMA) or as 64 hex digits — and returns 64 lowercase hex digits.
 * @throws ValidationError naming `input` and the rule.
 */
export function parseCertFingerprint(value: unknown, input = 'fingerprint'): string {
  if (typeof value !== 'string' || !(HEX64.test(value) || COLON_PAIRS.test(value)))
    throw new ValidationError(
      input,
      value,
      "must be a SHA-256 fingerprint: 32 hex byte pairs separated by ':' (or 64 hex digits)",
    )
  return value.replace(/:/g, '').toLowerCase()
}

/** The `xx:xx:…` form of a fingerprint given as 64 hex digits. */
export function formatCertFingerprint(hex: string): string {
  return hex.replace(/(..)(?!$)/g, '$1:')
}
