/**
 * systemd unit-name escaping in path mode, the way PBS names its lock files (spec §3.2 step 3).
 * Works on the UTF-8 bytes, so a non-ASCII character becomes one `\xHH` per byte.
 */

const HEX = '0123456789abcdef'
const SLASH = 0x2f
const DOT = 0x2e
const ENCODER = new TextEncoder()

/** True for the bytes systemd keeps verbatim: [A-Za-z0-9_.]. */
function isKept(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x5f ||
    byte === DOT
  )
}

/** Escape `rpath` like `systemd-escape --path` / proxmox `escape_unit(rpath, true)`. */
export function escapeUnitPath(rpath: string): string {
  const bytes = ENCODER.encode(rpath)
  let start = 0
  while (start < bytes.length && bytes[start] === SLASH) start++
  if (start === bytes.length) return '-'

  let out = ''
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte === SLASH) {
      out += '-'
    } else if (isKept(byte) && !(i === start && byte === DOT)) {
      out += String.fromCharCode(byte)
    } else {
      // Lowercase, always two digits: matches current proxmox-systemd (older code dropped the padding).
      out += `\\x${HEX[byte >> 4]!}${HEX[byte & 0xf]!}`
    }
  }
  return out
}
