/**
 * UPID, the PBS task id (`proxmox-schema/src/upid.rs`):
 * `UPID:<node>:<pid 8HEX>:<pstart 8-9HEX>:<task_id 8HEX>:<starttime 8HEX>:<wtype>:<wid>:<authid>:`
 * with uppercase hex and the worker id escaped like a systemd unit name (not path mode). Verify
 * writes one into `verify_state`, and `outdated-after` is measured from its starttime. Pure: no
 * node: imports (the web UI parses UPIDs too).
 */
import { ValidationError } from '../errors.js'
import { parseAuthid } from './authid.js'
import { CONTROL_CHAR_REGEX } from './single-line.js'

/** The fields of a UPID. */
export interface Upid {
  /** Node (host) name: letters, digits and inner '-'. */
  node: string
  /** Process id of the worker. */
  pid: number
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  pstart: number
  /** Per-process task counter. */
  taskId: number
  /** Task start, epoch seconds. */
  starttime: number
  /** Worker type, e.g. `verify`, `backup`, `garbage_collection`. */
  workerType: string
  /** Worker id (unescaped), e.g. `store1:vm/100`; undefined for none. */
  workerId?: string | undefined
  /** Who started the task, e.g. `root@pam`. */
  authid: string
}

const UPID_REGEX =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8,16}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/
const NODE_REGEX = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/
const HEX = '0123456789abcdef'
const ENCODER = new TextEncoder()

/**
 * Formats a UPID exactly as PBS does.
 * @throws ValidationError for a bad node name, worker type, authid or out-of-range numbers.
 */
export function formatUpid(upid: Upid): string {
  if (!NODE_REGEX.test(upid.node))
    throw new ValidationError('upid node', upid.node, "must be letters, digits and inner '-'")
  if (!/^[^:\s]+$/.test(upid.workerType))
    throw new ValidationError('upid worker type', upid.workerType, 'must not contain ":" or white space')
  if (!/^[^:\s]+$/.test(upid.authid))
    throw new ValidationError('upid authid', upid.authid, 'must not contain ":" or white space')
  const wid = upid.workerId === undefined ? '' : escapeUnitName(upid.workerId)
  return (
    `UPID:${upid.node}:${hex(upid.pid, 8, 'pid')}:${hex(upid.pstart, 8, 'pstart')}:${hex(upid.taskId, 8, 'task id')}:` +
    `${hex(upid.starttime, 8, 'starttime')}:${upid.workerType}:${wid}:${upid.authid}:`
  )
}

/**
 * Parses a UPID string.
 * @throws ValidationError when it does not have the PBS form.
 */
export function parseUpid(value: unknown, input = 'upid'): Upid {
  if (typeof value !== 'string') throw new ValidationError(input, value, 'must be a string')
  const m = UPID_REGEX.exec(value)
  if (!m)
    throw new ValidationError(
      input,
      value,
      "must have the form 'UPID:node:pid:pstart:task:start:type:id:authid:'",
    )
  const [, node, pid, pstart, taskId, starttime, workerType, wid, authid] = m as unknown as [
    string,
    ...string[],
  ]
  return {
    node: node!,
    pid: parseInt(pid!, 16),
    pstart: parseInt(pstart!, 16),
    taskId: parseInt(taskId!, 16),
    starttime: parseInt(starttime!, 16),
    workerType: workerType!,
    workerId: wid === '' ? undefined : unescapeUnitName(wid!, input),
    authid: authid!,
  }
}

/**
 * Checks a UPID given to name a task (API `upid` parameter, CLI argument) and returns it as given.
 * Stricter than {@link parseUpid}: the task log file is named after the text, so a '/' (never in
 * a formatted UPID: the type has none, the id escapes it) or a control character is refused, and
 * the authid must be a valid Authid.
 * @throws ValidationError naming `input` and the rule.
 */
export function parseTaskUpid(value: unknown, input = 'upid'): string {
  const upid = parseUpid(value, input)
  const text = value as string
  if (text.includes('/')) throw new ValidationError(input, text, "must not contain '/'")
  if (CONTROL_CHAR_REGEX.test(text))
    throw new ValidationError(input, text, 'must not contain control characters')
  try {
    parseAuthid(upid.authid, input)
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(input, text, `authid ${e.rule}`, { cause: e })
    throw e
  }
  return text
}

/** Uppercase hex, zero-padded to at least `width` digits. */
function hex(n: number, width: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ValidationError(`upid ${what}`, n, 'must be a non-negative integer')
  return n.toString(16).toUpperCase().padStart(width, '0')
}

/** systemd unit-name escaping (non-path mode, proxmox `escape_unit(s, false)`): '/' → '-', others → `\xHH`. */
export function escapeUnitName(text: string): string {
  const bytes = ENCODER.encode(text)
  let out = ''
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    const kept =
      (b >= 0x30 && b <= 0x39) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      b === 0x5f ||
      (b === 0x2e && i > 0)
    if (b === 0x2f) out += '-'
    else if (kept) out += String.fromCharCode(b)
    else out += `\\x${HEX[b >> 4]!}${HEX[b & 0xf]!}`
  }
  return out
}

/** Inverse of {@link escapeUnitName}. @throws ValidationError for a broken `\x` escape or invalid UTF-8. */
export function unescapeUnitName(text: string, input = 'unit name'): string {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2d) bytes.push(0x2f)
    else if (c === 0x5c) {
      const h = text.slice(i + 1, i + 4)
      if (!/^x[0-9a-fA-F]{2}$/.test(h)) throw new ValidationError(input, text, 'contains a broken \\x escape')
      bytes.push(parseInt(h.slice(1), 16))
      i += 3
    } else bytes.push(c)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes))
  } catch {
    throw new ValidationError(input, text, 'does not decode to UTF-8')
  }
}
