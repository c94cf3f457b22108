// Maintenance modes at datastore lookup (PBS MaintenanceMode::check): which operation each mode
// refuses, the PBS message, and setting/clearing the mode in datastore.cfg under its lock.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import type { MaintenanceMode, MaintenanceType } from '../../src/config/datastore-config.js'
import {
  createDatastore,
  maintenanceRefusal,
  openDatastore,
  setMaintenanceMode,
  type DatastoreOperation,
} from '../../src/datastore/index.js'
import { HTTP_STATUS_BY_CODE, MaintenanceError, ValidationError } from '../../src/errors.js'
import { makeTempHome, type TempHome } from '../helpers/temp-home.js'

/** mode → [lookup, read, write]: true = allowed. */
const ALLOWED: Record<MaintenanceType, [boolean, boolean, boolean]> = {
  'read-only': [true, true, false],
  offline: [true, false, false],
  's3-refresh': [true, false, false],
  unmount: [true, false, false],
  delete: [false, false, false],
}
const OPERATIONS: DatastoreOperation[] = ['lookup', 'read', 'write']

describe('maintenance modes', () => {
  let home: TempHome

  before(async () => {
    home = await makeTempHome()
    await createDatastore(home.installation, 'store1', join(home.dir, 'store1'))
  })
  after(() => home.cleanup())

  it('no mode allows everything', () => {
    for (const op of OPERATIONS) assert.equal(maintenanceRefusal(undefined, op), undefined)
  })

  for (const [type, allowed] of Object.entries(ALLOWED) as [MaintenanceType, boolean[]][])
    it(`${type}: allows ${OPERATIONS.filter((_, i) => allowed[i]).join(', ') || 'nothing'}`, () => {
      for (const [i, op] of OPERATIONS.entries()) {
        const reason = maintenanceRefusal({ type, message: 'disk%20swap' }, op)
        assert.equal(reason === undefined, allowed[i], `${type} / ${op}: ${reason}`)
      }
    })

  it('uses the PBS wording and decodes the percent-encoded message', () => {
    assert.equal(
      maintenanceRefusal({ type: 'read-only', message: 'disk%20swap' }, 'write'),
      'read-only maintenance mode: disk swap',
    )
    assert.equal(maintenanceRefusal({ type: 'offline' }, 'read'), 'offline maintenance mode: ')
    assert.equal(maintenanceRefusal({ type: 's3-refresh' }, 'write'), 'S3 refresh maintenance mode: ')
    assert.equal(maintenanceRefusal({ type: 'delete' }, 'lookup'), 'datastore is being deleted')
    assert.equal(maintenanceRefusal({ type: 'unmount' }, 'read'), 'datastore is being unmounted')
    // a malformed encoding is shown as written rather than failing the lookup
    assert.equal(
      maintenanceRefusal({ type: 'offline', message: '100%' }, 'read'),
      'offline maintenance mode: 100%',
    )
  })

  it('openDatastore refuses what the mode forbids (400, names the store) and opens the rest', async () => {
    const mode: MaintenanceMode = { type: 'read-only', message: 'migrating%20disks' }
    assert.equal(await setMaintenanceMode(home.installation, 'store1', mode), undefined)
    await assert.rejects(openDatastore(home.installation, 'store1', { operation: 'write' }), (e: unknown) => {
      assert.ok(e instanceof MaintenanceError)
      assert.equal(
        e.message,
        "datastore 'store1' is unavailable: read-only maintenance mode: migrating disks",
      )
      assert.equal(HTTP_STATUS_BY_CODE[e.code], 400)
      return true
    })
    // the default operation is write: a caller that does not say what it does is refused
    await assert.rejects(openDatastore(home.installation, 'store1'), MaintenanceError)
    assert.equal((await openDatastore(home.installation, 'store1', { operation: 'read' })).name, 'store1')

    await setMaintenanceMode(home.installation, 'store1', { type: 'offline' })
    await assert.rejects(
      openDatastore(home.installation, 'store1', { operation: 'read' }),
      /offline maintenance/,
    )
    assert.equal((await openDatastore(home.installation, 'store1', { operation: 'lookup' })).name, 'store1')
  })

  it('writes the property to datastore.cfg, returns the previous mode, and clears it', async () => {
    const cfgPath = join(home.installation.etcDir, 'datastore.cfg')
    const previous = await setMaintenanceMode(home.installation, 'store1', {
      type: 'read-only',
      message: 'x%2Cy',
    })
    assert.deepEqual(previous, { type: 'offline' })
    assert.match(await readFile(cfgPath, 'utf8'), /^\tmaintenance-mode type=read-only,message=x%2Cy$/m)
    assert.deepEqual(await setMaintenanceMode(home.installation, 'store1', undefined), {
      type: 'read-only',
      message: 'x%2Cy',
    })
    assert.doesNotMatch(await readFile(cfgPath, 'utf8'), /maintenance-mode/)
    assert.equal((await openDatastore(home.installation, 'store1')).name, 'store1')
  })

  it('refuses an unknown mode and changes nothing', async () => {
    const cfgPath = join(home.installation.etcDir, 'datastore.cfg')
    const before = await readFile(cfgPath, 'utf8')
    await assert.rejects(
      setMaintenanceMode(home.installation, 'store1', { type: 'paused' as MaintenanceType }),
      (e: unknown) => e instanceof ValidationError && /maintenance-mode\.type/.test(e.message),
    )
    assert.equal(await readFile(cfgPath, 'utf8'), before)
  })
})
