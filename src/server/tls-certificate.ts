/**
 * The server's TLS certificate, kept where PBS keeps its own: `<home>/etc/proxy.key` and
 * `<home>/etc/proxy.pem`. A self-signed certificate (RSA 2048, SHA-256, ten years, SAN for the
 * host name, localhost and the loopback addresses) is created on first start; an admin may
 * replace both files with a real certificate.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { generate } from 'selfsigned'

import { isErrno } from './fs-errors.js'

/** PEM key and certificate. */
export interface TlsMaterial {
  key: string
  cert: string
}

/** Loads proxy.key/proxy.pem from `etcDir`, generating a self-signed pair when missing. */
export async function ensureTlsCertificate(etcDir: string): Promise<TlsMaterial & { created: boolean }> {
  const keyPath = join(etcDir, 'proxy.key')
  const certPath = join(etcDir, 'proxy.pem')
  try {
    return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8'), created: false }
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e
  }
  await mkdir(etcDir, { recursive: true, mode: 0o750 })
  const host = hostname()
  const notAfterDate = new Date(Date.now() + 10 * 365 * 86400 * 1000)
  const pems = await generate([{ name: 'commonName', value: host }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate,
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: host },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })
  // Key first, certificate last: a crash in between leaves no certificate, so the next start regenerates both.
  await writeFile(`${keyPath}.tmp`, pems.private, { mode: 0o600 })
  await rename(`${keyPath}.tmp`, keyPath)
  await writeFile(`${certPath}.tmp`, pems.cert, { mode: 0o644 })
  await rename(`${certPath}.tmp`, certPath)
  return { key: pems.private, cert: pems.cert, created: true }
}
