import { ValidationError } from '../errors.js'

/** Host names and IPv4 addresses: letters, digits, '.' and inner '-'. */
const HOST_REGEX = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/
const LISTEN_REGEX = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/

/**
 * Parses a listen address `ADDR:PORT` (IPv6 as `[ADDR]:PORT`, port 0 = any free port).
 * @throws ValidationError naming `input` and the expected form.
 */
export function parseListenAddress(value: unknown, input = '--listen'): { host: string; port: number } {
  const m = typeof value === 'string' ? LISTEN_REGEX.exec(value) : null
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (!m || host === undefined || port > 65535 || (m[2] !== undefined && !HOST_REGEX.test(host)))
    throw new ValidationError(
      input,
      value,
      "must be 'ADDR:PORT' with a host name or IP address and a port 0..65535 (IPv6 as '[ADDR]:PORT')",
    )
  return { host, port }
}
