/**
 * The web UI in real Chromium against the real API server on a temp installation: login,
 * content tree (empty groups, filter, sort), namespace creation, group and namespace moves with
 * their dry-run previews, a merge conflict's reason, several groups at once, the task log,
 * owner and notes, logout. The steps build on each other, like an administrator's session.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import type { Locator, Page } from 'playwright-core'

import { BackupNamespace, type BackupType } from '../../src/api-types/index.js'
import { AccessConfig } from '../../src/config/access-config.js'
import {
  backupSnapshot,
  createNamespace,
  getOwner,
  groupExists,
  namespaceExists,
  readNotes,
  setNotes,
} from '../../src/datastore/index.js'
import { makeFakeGroup } from '../helpers/fake-snapshot.js'
import { ADMIN, screenshotDir, UiBrowser, UiServer } from './ui-harness.js'

const ns = (s: string): BackupNamespace => BackupNamespace.parse(s)
const DAY = 86_400
const T0 = 1_750_000_000

/** The tree row of a namespace or group. */
function row(page: Page, key: string): Locator {
  return page.locator(`[data-testid=content-tree] tr[data-key="${key}"]`)
}

describe('web UI in Chromium', { timeout: 110_000 }, () => {
  let server: UiServer
  let browser: UiBrowser
  let page: Page
  let shots: { dir: string; temporary: boolean }

  const backup = async (where: string, type: BackupType, id: string, times: number[]): Promise<void> => {
    for (const time of times)
      await backupSnapshot(server.store, {
        ns: ns(where),
        type,
        id,
        time,
        owner: ADMIN.user,
        workers: 0,
        archives: [
          { name: 'qemu-server.conf', source: Buffer.from(`name: ${id}\nmemory: 2048\n`) },
          { name: 'drive-scsi0.img', source: Buffer.alloc(128 * 1024, time % 251) },
        ],
      })
  }
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(shots.dir, name) })
  }

  before(async () => {
    // The browser first: without Chromium the suite fails at once, loudly.
    browser = await UiBrowser.launch()
    page = browser.page
    shots = screenshotDir()
    server = await UiServer.start()
    for (const n of ['prod', 'prod/web', 'dev']) await createNamespace(server.store, ns(n))
    await backup('prod/web', 'vm', '100', [T0, T0 + DAY])
    await backup('prod/web', 'ct', '200', [T0 + 2 * DAY])
    // Newer than prod/web's oldest vm/100 snapshot: merging it there is a "snapshot time mismatch".
    await backup('dev', 'vm', '100', [T0 + DAY / 2])
    await backup('', 'host', 'gw', [T0 + 3 * DAY])
    await setNotes(server.store, ns('prod/web'), { type: 'vm', id: '100' }, 'Web frontend\nnginx + app')
    // A group without snapshots (e.g. left by a failed move, or after pruning everything).
    await makeFakeGroup(server.store, ns('dev'), 'host', 'empty-gw', ADMIN.user)
    await new AccessConfig(server.home.installation.etcDir).createUser('backup@pbs', {
      comment: 'backup user',
    })
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
    if (shots?.temporary) await rm(shots.dir, { recursive: true, force: true })
  })

  it('logs in (a wrong password is refused in plain words) and lists the datastore with its usage', async () => {
    await page.goto(server.url)
    await page.fill('input[name=username]', ADMIN.user)
    await page.fill('input[name=password]', 'wrong-password')
    await page.click('button[type=submit]')
    await page.locator('.login .error-box').filter({ hasText: 'wrong user name or password' }).waitFor()
    await page.fill('input[name=password]', ADMIN.password)
    await page.click('button[type=submit]')
    await page.locator('[data-testid=current-user]').filter({ hasText: ADMIN.user }).waitFor()
    const store = page.locator('button[data-store=store1]')
    await store.waitFor()
    assert.match(await store.innerText(), /main datastore/)
    await store.locator('.usage-text').waitFor()
    assert.match(await store.locator('.usage-text').innerText(), /of .* \(\d+%\)/)
    await row(page, 'ns:prod/web').waitFor()
  })

  it('shows groups with count, last backup, size, owner and notes, and an empty group with count 0', async () => {
    const empty = row(page, 'g:dev|host/empty-gw')
    await empty.waitFor()
    assert.equal(await empty.locator('[data-col=count]').innerText(), '0')
    assert.match(await empty.innerText(), /empty/)
    const vm = row(page, 'g:prod/web|vm/100')
    assert.equal(await vm.locator('[data-col=count]').innerText(), '2')
    const text = await vm.innerText()
    assert.match(text, /2025-06-16 15:06:40/, 'last backup (UTC) of the newest snapshot')
    assert.match(text, /admin@pbs/)
    assert.match(text, /Web frontend/, 'first line of the group notes')
    assert.doesNotMatch(text, /nginx/, 'only the first line of the notes')
    assert.match(text, /KiB/, 'size of the snapshots')
    // Expanding a group shows its snapshots, newest first.
    await vm.locator('button.expander').click()
    const snaps = page.locator('[data-testid=content-tree] tr.snapshot')
    await snaps.nth(1).waitFor()
    assert.equal(await snaps.count(), 2)
    assert.match(await snaps.nth(0).innerText(), /2025-06-16/)
    assert.match(await snaps.nth(1).innerText(), /2025-06-15/)
    await shot('content-tree.png')
  })

  it('filters and sorts the tree', async () => {
    await page.fill('input.filter', 'empty')
    await row(page, 'g:prod/web|vm/100').waitFor({ state: 'detached' })
    assert.equal(await row(page, 'g:dev|host/empty-gw').count(), 1)
    assert.equal(await row(page, 'ns:dev').count(), 1, 'the namespace of a match stays visible')
    await page.fill('input.filter', '')
    await row(page, 'g:prod/web|vm/100').waitFor()
    const order = async (): Promise<string[]> =>
      page
        .locator('[data-testid=content-tree] tr.group[data-ns="prod/web"]')
        .evaluateAll((rows) =>
          rows.map((r) => (r as unknown as { dataset: { group?: string } }).dataset.group ?? ''),
        )
    const count = page.locator('th.sortable', { hasText: 'Count' })
    await count.click()
    assert.deepEqual(await order(), ['ct/200', 'vm/100'], 'by count ascending')
    await count.click()
    assert.equal(await count.getAttribute('aria-sort'), 'descending')
    assert.deepEqual(await order(), ['vm/100', 'ct/200'], 'by count descending')
    await page.locator('th.sortable', { hasText: 'Name' }).click()
  })

  it('creates namespaces, refusing a bad name before calling the API', async () => {
    await row(page, 'ns:').locator(`button[aria-label="Add namespace below 'Root'"]`).click()
    const dialog = page.locator('[data-testid=namespace-create-dialog]')
    await dialog.locator('input[name=name]').fill('bad name')
    await dialog.locator('.field-error').filter({ hasText: 'letters, digits' }).waitFor()
    await dialog.locator('button', { hasText: 'Create' }).click()
    assert.equal(await namespaceExists(server.store, ns('bad name'.replace(' ', '_'))), false)
    await dialog.locator('input[name=name]').fill('archive')
    await dialog.locator('button', { hasText: 'Create' }).click()
    await row(page, 'ns:archive').waitFor()
    assert.equal(await namespaceExists(server.store, ns('archive')), true)
    await row(page, 'ns:archive').locator(`button[aria-label="Add namespace below 'archive'"]`).click()
    await dialog.locator('input[name=name]').fill('2025')
    await dialog.locator('button', { hasText: 'Create' }).click()
    await row(page, 'ns:archive/2025').waitFor()
    assert.equal(await namespaceExists(server.store, ns('archive/2025')), true)
  })

  it('previews a group move without changing anything, runs it and shows the group at the target', async () => {
    await row(page, 'g:prod/web|ct/200').locator(`button[aria-label="Move group 'ct/200'"]`).click()
    const dialog = page.locator('[data-testid=group-move-dialog]')
    const targets = await dialog
      .locator('select[name=target-ns] option')
      .evaluateAll((o) => o.map((e) => (e as unknown as { value: string }).value))
    assert.ok(!targets.includes('prod/web'), 'the source namespace is not offered')
    assert.ok(targets.includes('archive') && targets.includes(''), `targets: ${targets.join(',')}`)
    await dialog.locator('select[name=target-ns]').selectOption('archive')
    await dialog.locator('button', { hasText: 'Preview' }).click()
    const planned = dialog.locator('[data-testid=move-plan] tr[data-group="ct/200"]')
    await planned.waitFor()
    assert.match(await planned.innerText(), /prod\/web\s+archive\s+1\s+new group/)
    assert.equal(
      await groupExists(server.store, ns('archive'), { type: 'ct', id: '200' }),
      false,
      'preview moved nothing',
    )
    await dialog.locator('button', { hasText: /^Move$/ }).click()
    await dialog
      .locator('[data-testid=move-result]')
      .filter({ hasText: '1 group moved to archive' })
      .waitFor()
    await dialog.locator('button', { hasText: 'Close' }).click()
    const moved = row(page, 'g:archive|ct/200')
    await moved.waitFor()
    assert.match((await moved.getAttribute('class')) ?? '', /highlight/)
    assert.equal(await row(page, 'g:prod/web|ct/200').count(), 0)
    assert.equal(await groupExists(server.store, ns('archive'), { type: 'ct', id: '200' }), true)
    assert.equal(await groupExists(server.store, ns('prod/web'), { type: 'ct', id: '200' }), false)
  })

  it('shows a merge conflict with its reason, and an API refusal in plain words; the group stays', async () => {
    await row(page, 'g:dev|vm/100').locator(`button[aria-label="Move group 'vm/100'"]`).click()
    const dialog = page.locator('[data-testid=group-move-dialog]')
    await dialog.locator('select[name=target-ns]').selectOption('prod/web')
    await dialog.locator('button', { hasText: 'Preview' }).click()
    const conflict = dialog.locator('[data-testid=move-plan] tr.conflict[data-group="vm/100"]')
    await conflict.waitFor()
    assert.match(await conflict.innerText(), /snapshot time mismatch/)
    assert.match(await dialog.locator('.plan-summary').innerText(), /1 conflict/)
    await shot('move-group-conflict.png')
    // Unchecked really sends merge-group=false: the server refuses before starting a task.
    await dialog.locator('input[name=merge-group]').uncheck()
    await dialog.locator('button', { hasText: 'Preview' }).click()
    const refused = dialog.locator('[data-testid=move-plan] tr.conflict[data-group="vm/100"]')
    await refused.filter({ hasText: 'merge-group is disabled' }).waitFor()
    await dialog.locator('input[name=merge-group]').check()
    await dialog.locator('button', { hasText: /^Move$/ }).click()
    const outcome = dialog.locator('li[data-group="vm/100"][data-state=failed]')
    await outcome.waitFor()
    assert.match(await outcome.innerText(), /snapshot time mismatch/)
    await dialog.locator('[data-testid=move-result]').filter({ hasText: 'could not be moved' }).waitFor()
    await dialog.locator('button', { hasText: 'Close' }).click()
    await row(page, 'g:dev|vm/100').waitFor()
    assert.equal(await groupExists(server.store, ns('dev'), { type: 'vm', id: '100' }), true)
  })

  it('moves a namespace via the dialog (unchecked "delete source" sends false) and lands in the new namespace', async () => {
    await row(page, 'ns:prod').locator(`button[aria-label="Move namespace 'prod'"]`).click()
    const dialog = page.locator('[data-testid=namespace-move-dialog]')
    const parents = await dialog
      .locator('select[name=new-parent] option')
      .evaluateAll((o) => o.map((e) => (e as unknown as { value: string }).value))
    assert.ok(
      !parents.includes('prod') && !parents.includes('prod/web'),
      `no cycles offered: ${parents.join(',')}`,
    )
    assert.ok(parents.includes('') && parents.includes('archive') && parents.includes('dev'))
    const name = dialog.locator('input[name=new-name]')
    assert.equal(await name.inputValue(), 'prod', 'prefilled with the current name')
    await name.fill('x'.repeat(32))
    await dialog.locator('.field-error').filter({ hasText: 'At most 31 characters' }).waitFor()
    assert.equal(await dialog.locator('button', { hasText: 'Preview' }).isDisabled(), true)
    await name.fill('pro duction')
    await dialog.locator('.field-error').filter({ hasText: 'letters, digits' }).waitFor()
    await name.fill('production')
    await dialog.locator('select[name=new-parent]').selectOption('archive')
    assert.equal(await dialog.locator('[data-testid=target-path]').innerText(), 'archive/production')
    await dialog.locator('details.advanced summary').click()
    const depths = await dialog
      .locator('select[name=max-depth] option')
      .evaluateAll((o) => o.map((e) => (e as unknown as { value: string }).value))
    // Target depth 2 leaves 5 levels below it.
    assert.deepEqual(depths, ['', '0', '1', '2', '3', '4', '5'])
    assert.equal(await dialog.locator('input[name=merge-groups]').isChecked(), true)
    assert.equal(await dialog.locator('input[name=delete-source]').isChecked(), true)
    await dialog.locator('input[name=delete-source]').uncheck()
    await dialog.locator('button', { hasText: 'Preview' }).click()
    const planned = dialog.locator('[data-testid=move-plan] tr[data-group="vm/100"]')
    await planned.waitFor()
    assert.match(await planned.innerText(), /prod\/web\s+archive\/production\/web\s+2\s+new group/)
    assert.match(
      await dialog.locator('[data-testid=move-plan]').innerText(),
      /Namespaces to create: archive\/production/,
    )
    await shot('move-namespace-preview.png')
    await dialog.locator('button', { hasText: /^Move$/ }).click()
    const viewer = page.locator('[data-testid=task-viewer]')
    await viewer.locator('[data-testid=task-status]').filter({ hasText: 'OK' }).waitFor()
    await viewer.locator('[data-testid=task-log]').filter({ hasText: 'TASK OK' }).waitFor()
    assert.match(await viewer.locator('h2').innerText(), /Move namespace store1:prod:archive\/production/)
    await shot('task-log.png')
    await viewer.locator('button', { hasText: 'Close' }).click()
    const landed = row(page, 'ns:archive/production')
    await landed.waitFor()
    await page.locator('[data-testid=content-tree] tr.highlight[data-key="ns:archive/production"]').waitFor()
    await row(page, 'g:archive/production/web|vm/100').waitFor()
    await page
      .locator('[data-testid=notice]')
      .filter({ hasText: "Namespace moved to 'archive/production'" })
      .waitFor()
    assert.equal(
      await groupExists(server.store, ns('archive/production/web'), { type: 'vm', id: '100' }),
      true,
    )
    // delete-source=false reached the server: the emptied source namespaces are still there.
    assert.equal(await namespaceExists(server.store, ns('prod/web')), true)
    assert.equal(await row(page, 'ns:prod/web').count(), 1)
    assert.equal(await row(page, 'g:prod/web|vm/100').count(), 0)
  })

  it('moves several selected groups at once and reports each outcome', async () => {
    await row(page, 'g:dev|host/empty-gw').locator('input[type=checkbox]').check()
    await row(page, 'g:|host/gw').locator('input[type=checkbox]').check()
    await page.locator('.toolbar button', { hasText: 'Move selected (2)' }).click()
    const dialog = page.locator('[data-testid=group-move-dialog]')
    await dialog.locator('h2', { hasText: 'Move 2 Backup Groups' }).waitFor()
    await dialog.locator('select[name=target-ns]').selectOption('archive/2025')
    await dialog.locator('button', { hasText: 'Preview' }).click()
    await dialog.locator('[data-testid=move-plan] tr[data-group="host/empty-gw"]').waitFor()
    await dialog.locator('[data-testid=move-plan] tr[data-group="host/gw"]').waitFor()
    await dialog.locator('button', { hasText: 'Move 2 groups' }).click()
    await dialog
      .locator('[data-testid=move-result]')
      .filter({ hasText: '2 groups moved to archive/2025' })
      .waitFor()
    assert.equal(await dialog.locator('li[data-state=ok]').count(), 2)
    await dialog.locator('button', { hasText: 'Close' }).click()
    await row(page, 'g:archive/2025|host/empty-gw').waitFor()
    await row(page, 'g:archive/2025|host/gw').waitFor()
    assert.equal(await row(page, 'g:dev|host/empty-gw').count(), 0)
    assert.equal(await groupExists(server.store, ns('archive/2025'), { type: 'host', id: 'empty-gw' }), true)
    assert.match(
      await page.locator('.toolbar').innerText(),
      /Move selected(?! \()/,
      'selection of moved groups cleared',
    )
  })

  it('lists finished tasks in the task panel and opens their log', async () => {
    const task = page.locator('.task-panel tr[data-type=move-namespace]')
    await task.waitFor()
    assert.match(await task.innerText(), /OK/)
    await task.click()
    const viewer = page.locator('[data-testid=task-viewer]')
    await viewer.locator('[data-testid=task-log]').filter({ hasText: "moving namespace 'prod'" }).waitFor()
    assert.match(await viewer.locator('[data-testid=task-log]').innerText(), /TASK OK/)
    assert.equal(await page.locator('.task-panel tr[data-type=move-group]').count(), 4)
    await viewer.locator('button', { hasText: 'Close' }).click()
  })

  it('changes the owner and the notes of a group', async () => {
    const vm = row(page, 'g:archive/production/web|vm/100')
    await vm.locator(`button[aria-label="Change owner of 'vm/100'"]`).click()
    const owner = page.locator('[data-testid=owner-dialog]')
    await owner.locator('input[name=new-owner]').fill('backup@pbs')
    await owner.locator('button', { hasText: 'Change owner' }).click()
    await vm.filter({ hasText: 'backup@pbs' }).waitFor()
    assert.equal(
      await getOwner(server.store, ns('archive/production/web'), { type: 'vm', id: '100' }),
      'backup@pbs',
    )
    await vm.locator(`button[aria-label="Notes of 'vm/100'"]`).click()
    const notes = page.locator('[data-testid=notes-dialog] textarea[name=notes]')
    await page.locator('[data-testid=notes-dialog] textarea[name=notes]:not([disabled])').waitFor()
    assert.equal(await notes.inputValue(), 'Web frontend\nnginx + app', 'the whole notes text is loaded')
    await notes.fill('Moved web frontend\nsee ticket 42')
    await page.locator('[data-testid=notes-dialog] button', { hasText: 'Save' }).click()
    await vm.filter({ hasText: 'Moved web frontend' }).waitFor()
    assert.equal(
      await readNotes(server.store, ns('archive/production/web'), { type: 'vm', id: '100' }),
      'Moved web frontend\nsee ticket 42',
    )
  })

  it('forgets a group, and deletes a namespace only with "delete groups" (the refusal shown in the dialog)', async () => {
    await row(page, 'g:archive/2025|host/empty-gw')
      .locator(`button[aria-label="Forget group 'host/empty-gw'"]`)
      .click()
    const forget = page.locator('[data-testid=forget-dialog]')
    assert.match(await forget.innerText(), /0 snapshots/)
    await forget.locator('button', { hasText: 'Forget group' }).click()
    await row(page, 'g:archive/2025|host/empty-gw').waitFor({ state: 'detached' })
    assert.equal(await groupExists(server.store, ns('archive/2025'), { type: 'host', id: 'empty-gw' }), false)

    await row(page, 'ns:dev').locator(`button[aria-label="Delete namespace 'dev'"]`).click()
    const del = page.locator('[data-testid=namespace-delete-dialog]')
    await del.locator('button', { hasText: 'Delete' }).click()
    const refusal = del.locator('.error-box')
    await refusal.waitFor()
    assert.match(await refusal.innerText(), /Not deleted: .*delete-groups/s)
    assert.equal(await namespaceExists(server.store, ns('dev')), true)
    await del.locator('input[name=delete-groups]').check()
    await del.locator('button', { hasText: 'Delete' }).click()
    await row(page, 'ns:dev').waitFor({ state: 'detached' })
    assert.equal(await namespaceExists(server.store, ns('dev')), false)
  })

  it('logs out and stays logged out after a reload', async () => {
    await page.locator('.topbar button', { hasText: 'Log out' }).click()
    await page.locator('input[name=password]').waitFor()
    await page.reload()
    await page.locator('input[name=password]').waitFor()
    assert.equal(await page.locator('[data-testid=current-user]').count(), 0)
    assert.deepEqual(browser.errors, [], 'no script errors in the page')
  })
})
