/**
 * Datastore content endpoints (spec/pbs-api.md §4.2–§4.9, §4.12 GET, §4.14): datastore list,
 * namespaces, groups, snapshots, files, notes, protection, owner, status.
 */
import { statfs } from 'node:fs/promises'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { BackupNamespace, parseAuthid, type BackupGroupRef } from '../../api-types/index.js'
import { anyPrivsBelow } from '../../config/acl-config.js'
import { loadDatastoreConfig } from '../../config/datastore-config.js'
import { NS_PRIVS_OK, PRIV } from '../../config/privileges.js'
import {
  assertNamespaceExists,
  createNamespace,
  deleteNamespace,
  forgetGroup,
  forgetSnapshot,
  getOwner,
  isProtected,
  listGroupRefs,
  listNamespaces,
  listSnapshots,
  loadManifest,
  readNotes,
  readOwner,
  setNotes,
  setOwner,
  setProtected,
  snapshotFileList,
  snapshotFiles,
  updateManifest,
  type Datastore,
} from '../../datastore/index.js'
import { GC_STATUS_FILE } from '../../datastore/gc/index.js'
import {
  ConflictError,
  DatastoreError,
  NotFoundError,
  PermissionError,
  ValidationError,
  errorMessage,
} from '../../errors.js'
import {
  getManifestNotes,
  getVerifyState,
  manifestKeyFingerprint,
  setManifestNotes,
} from '../../format/index.js'
import { STORE, authidParam, boolParam, maxDepthParam, nsParam, safeIdParam } from '../params.js'
import { hasAnyPriv, nsAclPath, ownsGroup, privsOn } from '../permissions.js'
import type { ApiCall, Endpoint } from '../router.js'
import {
  GROUP_FILTER_PARAMS,
  GROUP_PARAMS,
  SNAPSHOT_PARAMS,
  STORE_NS,
  STORE_ONLY,
  callerNsPrivs,
  groupOf,
  nsOf,
  openGroup,
  openNs,
  openSnapshot,
  storeAccess,
  storeOf,
} from './datastore-helpers.js'

const user = { kind: 'user' } as const
const NOTES = { type: 'string', description: 'Notes text.' } as const

/** `{removed-groups, protected-snapshots, removed-snapshots}` */
function deleteStats(groups: number, prot: number, snaps: number): Record<string, number> {
  return { 'removed-groups': groups, 'protected-snapshots': prot, 'removed-snapshots': snaps }
}

export const datastoreRoutes: Endpoint[] = [
  {
    method: 'GET',
    path: '/admin/datastore',
    description: 'List the datastores the caller can see.',
    permission:
      'Datastore.Audit or Datastore.Backup on /datastore/{store}, or any namespace privilege below it.',
    access: user,
    params: {},
    handler: async ({ ctx, auth }) => {
      const cfg = await loadDatastoreConfig(ctx.installation.etcDir)
      const acl = (await ctx.access.acl()).config
      const out: Record<string, unknown>[] = []
      for (const entry of cfg.datastores.values()) {
        const path = `/datastore/${entry.name}`
        const direct = await hasAnyPriv(ctx, auth, path, PRIV.DatastoreAudit | PRIV.DatastoreBackup)
        if (!direct && !anyPrivsBelow(acl, auth.authid, path, NS_PRIVS_OK)) continue
        out.push({
          store: entry.name,
          comment: direct ? (entry.comment ?? null) : null,
          'mount-status': 'nonremovable',
          ...(entry.raw?.properties.get('maintenance-mode')
            ? { maintenance: entry.raw.properties.get('maintenance-mode') }
            : {}),
          'backend-type': entry.backend?.type ?? 'filesystem',
        })
      }
      return out
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}',
    description: 'Directory index of a datastore.',
    permission: 'Any authenticated user.',
    access: user,
    params: STORE_ONLY,
    handler: () =>
      Promise.resolve(
        [
          'change-owner',
          'files',
          'gc',
          'group-notes',
          'groups',
          'move-group',
          'move-namespace',
          'namespace',
          'notes',
          'protected',
          'prune',
          'prune-datastore',
          'snapshots',
          'status',
          'verify',
        ].map((subdir) => ({ subdir })),
      ),
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/namespace',
    description: 'List namespaces below (and including) `parent`, depth first.',
    permission: 'Lists namespaces where the caller has any of Datastore.Modify|Read|Backup|Audit.',
    access: user,
    params: {
      store: STORE,
      parent: nsParam('Parent namespace (default: root).'),
      'max-depth': maxDepthParam(),
    },
    handler: async (call) => {
      const store = await storeOf(call)
      const parent = nsOf(call, 'parent')
      const depth = Math.min((call.params['max-depth'] as number | undefined) ?? 7, 7 - parent.depth)
      const onParent = await hasAnyPriv(call.ctx, call.auth, nsAclPath(store.name, parent), NS_PRIVS_OK)
      let list: BackupNamespace[] = []
      try {
        list = await listNamespaces(store, parent, depth)
      } catch (e) {
        if (!onParent) throw new PermissionError('permission check failed')
        throw e
      }
      const out: { ns: string }[] = []
      for (const ns of list)
        if (await hasAnyPriv(call.ctx, call.auth, nsAclPath(store.name, ns), NS_PRIVS_OK))
          out.push({ ns: ns.toString() })
      if (out.length === 0 && !onParent) throw new PermissionError('permission check failed')
      return out
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/namespace',
    description: 'Create a namespace (an existing one is not an error). Returns its full name.',
    permission: 'Datastore.Modify on the parent namespace.',
    access: user,
    params: {
      store: STORE,
      name: { ...safeIdParam('Name of the new namespace (one component).'), maxLength: 32 },
      parent: nsParam('Parent namespace (default: root).'),
    },
    handler: async (call) => {
      const store = await storeOf(call)
      const parent = nsOf(call, 'parent')
      await callerNsPrivs(call, store, parent, PRIV.DatastoreModify)
      const ns = parent.push(call.params.name as string, 'name')
      await createNamespace(store, ns)
      return ns.toString()
    },
  },
  {
    method: 'DELETE',
    path: '/admin/datastore/{store}/namespace',
    description: 'Delete a namespace and its sub-namespaces (deepest first).',
    permission: 'Datastore.Modify on the parent namespace.',
    access: user,
    params: {
      store: STORE,
      ns: nsParam('Namespace to delete.', false),
      'delete-groups': boolParam('Also delete all groups (protected snapshots stay).', false),
      'error-on-protected': boolParam('Fail when something could not be removed.', true),
    },
    handler: async (call) => {
      const store = await storeOf(call)
      const ns = nsOf(call)
      if (ns.isRoot) throw new ValidationError('ns', '', 'Cannot create/delete root namespace!')
      await callerNsPrivs(call, store, ns.parent()!, PRIV.DatastoreModify)
      const r = await deleteNamespace(store, ns, {
        deleteGroups: call.params['delete-groups'] as boolean,
        errorOnProtected: call.params['error-on-protected'] as boolean,
      })
      return deleteStats(r.removedGroups, r.protectedSnapshots, r.removedSnapshots)
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/groups',
    description: 'List the backup groups of one namespace level.',
    permission: 'Datastore.Audit, or Datastore.Backup (only owned groups are listed).',
    access: user,
    params: STORE_NS,
    handler: async (call) => {
      const { store, ns, limited } = await openNs(call, PRIV.DatastoreAudit, PRIV.DatastoreBackup)
      await assertNamespaceExists(store, ns) // an empty list would hide a mistyped namespace
      const out: Record<string, unknown>[] = []
      for (const g of await listGroupRefs(store, ns)) {
        const owner = await readOwner(store, ns, g).catch(() => undefined)
        if (owner === undefined) continue
        if (limited && !ownsGroup(owner, call.auth.authid)) continue
        const snaps = await listSnapshots(store, ns, g)
        const finished = snaps.filter((s) => s.finished)
        const last = snaps.length === 1 ? snaps[0] : finished[finished.length - 1]
        const notes = await readNotes(store, ns, g)
        const nl = notes?.indexOf('\n') ?? -1
        out.push({
          'backup-type': g.type,
          'backup-id': g.id,
          'last-backup': last?.dir.time ?? 0,
          'backup-count': snaps.length,
          files: last ? last.files.map((f) => f.filename) : [],
          owner,
          ...(notes ? { comment: nl >= 0 ? notes.slice(0, nl + 1) : notes } : {}),
        })
      }
      return out
    },
  },
  {
    method: 'DELETE',
    path: '/admin/datastore/{store}/groups',
    description: 'Delete a backup group (protected snapshots stay).',
    permission: 'Datastore.Modify, or Datastore.Prune and owning the group.',
    access: user,
    params: {
      ...GROUP_PARAMS,
      'error-on-protected': boolParam('Fail when protected snapshots remain.', true),
    },
    handler: async (call) => {
      const { store, ns, group } = await openGroup(call, PRIV.DatastoreModify, PRIV.DatastorePrune)
      const r = await forgetGroup(store, ns, group)
      if (r.protectedKept > 0 && call.params['error-on-protected'])
        throw new ConflictError('group only partially deleted due to protected snapshots', {
          'protected-snapshots': r.protectedKept,
          'removed-snapshots': r.removedSnapshots,
        })
      return deleteStats(r.removedGroup ? 1 : 0, r.protectedKept, r.removedSnapshots)
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/snapshots',
    description: 'List snapshots (optionally of one group).',
    permission: 'Datastore.Audit, or Datastore.Backup (only owned groups).',
    access: user,
    params: GROUP_FILTER_PARAMS,
    handler: async (call) => {
      const { store, ns, limited } = await openNs(call, PRIV.DatastoreAudit, PRIV.DatastoreBackup)
      await assertNamespaceExists(store, ns)
      const type = call.params['backup-type'] as string | undefined
      const id = call.params['backup-id'] as string | undefined
      const groups = (await listGroupRefs(store, ns)).filter(
        (g) => (type === undefined || g.type === type) && (id === undefined || g.id === id),
      )
      const out: Record<string, unknown>[] = []
      for (const g of groups) {
        const owner = await readOwner(store, ns, g).catch(() => undefined)
        if (owner === undefined || (limited && !ownsGroup(owner, call.auth.authid))) continue
        for (const snap of await listSnapshots(store, ns, g)) {
          const item: Record<string, unknown> = {
            'backup-type': g.type,
            'backup-id': g.id,
            'backup-time': snap.dir.time,
          }
          const { files, manifest } = await snapshotFileList(store, ns, snap.dir).catch(() => ({
            files: [],
            manifest: undefined,
          }))
          if (manifest) {
            const notes = getManifestNotes(manifest.manifest)
            if (notes) item.comment = notes.split('\n')[0]
            try {
              const v = getVerifyState(manifest.manifest)
              if (v) item.verification = v
              const fp = manifestKeyFingerprint(manifest.manifest)
              if (fp) item.fingerprint = fp
            } catch {
              // A malformed optional field hides only that field.
            }
            item.files = files
            item.size = files.reduce((n, f) => n + (f.size ?? 0), 0)
          } else item.files = files
          item.owner = owner
          item.protected = snap.protected
          out.push(item)
        }
      }
      return out
    },
  },
  {
    method: 'DELETE',
    path: '/admin/datastore/{store}/snapshots',
    description: 'Delete one snapshot.',
    permission: 'Datastore.Modify, or Datastore.Prune and owning the group.',
    access: user,
    params: SNAPSHOT_PARAMS,
    handler: async (call) => {
      const { store, ns, dir } = await openSnapshot(call, PRIV.DatastoreModify, PRIV.DatastorePrune)
      try {
        await forgetSnapshot(store, ns, dir)
      } catch (e) {
        if (e instanceof ConflictError)
          throw new ConflictError(`failed to delete snapshot - ${e.message}`, e.data, { cause: e })
        throw e
      }
      return null
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/files',
    description: 'List the files of a snapshot.',
    permission: 'Datastore.Audit or Datastore.Read, or Datastore.Backup and owning the group.',
    access: user,
    params: SNAPSHOT_PARAMS,
    handler: async (call) => {
      const { store, ns, dir } = await openSnapshot(
        call,
        PRIV.DatastoreAudit | PRIV.DatastoreRead,
        PRIV.DatastoreBackup,
      )
      const { files, manifest } = await snapshotFileList(store, ns, dir)
      if (!manifest)
        throw new NotFoundError(`manifest not found for snapshot '${dir.type}/${dir.id}/${dir.timeString}'`)
      return files
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/notes',
    description: "Read a snapshot's notes (manifest `unprotected.notes`).",
    permission: 'Datastore.Audit, or Datastore.Backup and owning the group.',
    access: user,
    params: SNAPSHOT_PARAMS,
    handler: async (call) => {
      const { store, ns, dir } = await openSnapshot(call, PRIV.DatastoreAudit, PRIV.DatastoreBackup)
      const { manifest } = await loadManifest(store, ns, dir)
      return getManifestNotes(manifest) ?? ''
    },
  },
  {
    method: 'PUT',
    path: '/admin/datastore/{store}/notes',
    description: "Set a snapshot's notes (rewrites the manifest under its lock).",
    permission: 'Datastore.Modify, or Datastore.Backup and owning the group.',
    access: user,
    params: { ...SNAPSHOT_PARAMS, notes: NOTES },
    handler: async (call) => {
      const { store, ns, dir } = await openSnapshot(call, PRIV.DatastoreModify, PRIV.DatastoreBackup)
      await updateManifest(store, ns, dir, (m) => setManifestNotes(m, call.params.notes as string))
      return null
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/group-notes',
    description: "Read a group's notes.",
    permission: 'Datastore.Audit, or Datastore.Backup and owning the group.',
    access: user,
    params: GROUP_PARAMS,
    handler: async (call) => {
      const { store, ns, group } = await openGroup(call, PRIV.DatastoreAudit, PRIV.DatastoreBackup)
      return (await readNotes(store, ns, group)) ?? ''
    },
  },
  {
    method: 'PUT',
    path: '/admin/datastore/{store}/group-notes',
    description: "Set a group's notes.",
    permission: 'Datastore.Modify, or Datastore.Backup and owning the group.',
    access: user,
    params: { ...GROUP_PARAMS, notes: NOTES },
    handler: async (call) => {
      const { store, ns, group } = await openGroup(call, PRIV.DatastoreModify, PRIV.DatastoreBackup)
      try {
        await setNotes(store, ns, group, call.params.notes as string)
      } catch (e) {
        if (e instanceof DatastoreError && !(e instanceof ValidationError) && !(e instanceof NotFoundError)) {
          const Cls = e.constructor as new (
            m: string,
            d: Record<string, unknown>,
            o: ErrorOptions,
          ) => DatastoreError
          throw new Cls(`failed to set group notes - ${e.message}`, e.data, { cause: e })
        }
        throw e
      }
      return null
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/protected',
    description: 'Whether a snapshot is protected.',
    permission: 'Datastore.Audit, or Datastore.Backup and owning the group.',
    access: user,
    params: SNAPSHOT_PARAMS,
    handler: async (call) => {
      const { store, ns, dir } = await openSnapshot(call, PRIV.DatastoreAudit, PRIV.DatastoreBackup)
      await snapshotFiles(store, ns, dir) // NotFoundError for a missing snapshot
      return isProtected(store, ns, dir)
    },
  },
  {
    method: 'PUT',
    path: '/admin/datastore/{store}/protected',
    description: 'Protect or unprotect a snapshot.',
    permission: 'Datastore.Modify, or Datastore.Backup and owning the group.',
    access: user,
    params: { ...SNAPSHOT_PARAMS, protected: { type: 'boolean', description: 'Protection flag.' } },
    handler: async (call) => {
      const { store, ns, dir } = await openSnapshot(call, PRIV.DatastoreModify, PRIV.DatastoreBackup)
      await setProtected(store, ns, dir, call.params.protected as boolean)
      return null
    },
  },
  {
    method: 'POST',
    path: '/admin/datastore/{store}/change-owner',
    description: 'Change the owner of a backup group.',
    permission:
      "Datastore.Modify (any new owner), or Datastore.Backup to move ownership between the caller and the caller's own tokens.",
    access: user,
    params: { ...GROUP_PARAMS, 'new-owner': authidParam('The new owner (user or token).') },
    handler: async (call) => {
      const { store, ns, limited } = await openNs(call, PRIV.DatastoreModify, PRIV.DatastoreBackup)
      const group = groupOf(call)
      const newOwner = call.params['new-owner'] as string
      const owner = await getOwner(store, ns, group)
      if (limited) {
        // PBS: only a user, and only between itself and its own tokens (token → token, token →
        // user, user → token); user → user and any change by a token need Datastore.Modify.
        const me = call.auth
        const target = parseAuthid(newOwner)
        const cur = parseAuthid(owner)
        const mine = (a: typeof cur): boolean => a.userid === me.userid
        const ok =
          me.tokenName === undefined &&
          mine(cur) &&
          mine(target) &&
          (cur.tokenName !== undefined || target.tokenName !== undefined)
        if (!ok)
          throw new PermissionError(
            `${me.authid} does not have permission to change owner of backup group '${group.type}/${group.id}' to ${newOwner}`,
            { owner, newOwner },
          )
      }
      if (!(await call.ctx.access.isActive(newOwner).catch(() => false)))
        throw new ValidationError(
          'new-owner',
          newOwner,
          `${newOwner.includes('!') ? 'API token' : 'user'} '${newOwner}' is inactive or non-existent`,
        )
      await setOwner(store, ns, group, newOwner)
      return null
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/status',
    description: 'Datastore usage (and, with verbose, group/snapshot counts and the GC status).',
    permission: 'Datastore.Audit or Datastore.Backup for full numbers; Datastore.Read gives zeros.',
    access: user,
    params: { store: STORE, verbose: boolParam('Include counts and GC status.', false) },
    handler: async (call) => {
      const store = await storeOf(call)
      const privs = await privsOn(call.ctx, call.auth, `/datastore/${store.name}`)
      const full = (privs & (PRIV.DatastoreAudit | PRIV.DatastoreBackup)) !== 0
      if (
        !full &&
        (privs & PRIV.DatastoreRead) === 0 &&
        !anyPrivsBelow(
          (await call.ctx.access.acl()).config,
          call.auth.authid,
          `/datastore/${store.name}`,
          NS_PRIVS_OK,
        )
      )
        throw new PermissionError('permission check failed')
      const fs = await statfs(store.base)
      const out: Record<string, unknown> = full
        ? {
            total: fs.blocks * fs.bsize,
            used: (fs.blocks - fs.bfree) * fs.bsize,
            avail: fs.bavail * fs.bsize,
          }
        : { total: 0, used: 0, avail: 0 }
      if (call.params.verbose) {
        const counts: Record<string, { groups: number; snapshots: number } | null> = {
          ct: null,
          host: null,
          vm: null,
          other: null,
        }
        for (const ns of await listNamespaces(store, BackupNamespace.ROOT)) {
          const p = await privsOn(call.ctx, call.auth, nsAclPath(store.name, ns))
          if ((p & NS_PRIVS_OK) === 0) continue
          const all =
            (privs & PRIV.DatastoreAudit) !== 0 || (p & (PRIV.DatastoreAudit | PRIV.DatastoreRead)) !== 0
          for (const g of await listGroupRefs(store, ns)) {
            const owner = await readOwner(store, ns, g).catch(() => undefined)
            if (!all && (owner === undefined || !ownsGroup(owner, call.auth.authid))) continue
            const n = (await listSnapshots(store, ns, g)).length
            if (n === 0) continue
            const c = (counts[g.type] ??= { groups: 0, snapshots: 0 })
            c.groups++
            c.snapshots += n
          }
        }
        out.counts = counts
        if (full) out['gc-status'] = await readGcStatusFile(store)
      }
      out['backend-type'] = store.config.backend?.type ?? 'filesystem'
      return out
    },
  },
  {
    method: 'GET',
    path: '/admin/datastore/{store}/gc',
    description: 'Status of the last garbage collection.',
    permission: 'Datastore.Audit on /datastore/{store}.',
    access: storeAccess(PRIV.DatastoreAudit),
    params: STORE_ONLY,
    handler: async (call) => {
      const store = await storeOf(call)
      const status = await readGcStatusFile(store)
      const runs = (await call.ctx.tasks.list()).filter(
        (t) => t.parsed.workerType === 'garbage_collection' && t.parsed.workerId === store.name,
      )
      const last = runs.find((t) => !t.running)
      return {
        store: store.name,
        upid: (status.upid as string | undefined) ?? runs[0]?.upid ?? null,
        ...status,
        ...(last?.state
          ? { 'last-run-endtime': last.state.endtime, 'last-run-state': stateText(last.state) }
          : {}),
      }
    },
  },
]

function stateText(
  s: NonNullable<Awaited<ReturnType<ApiCall['ctx']['tasks']['list']>>[number]['state']>,
): string {
  return s.kind === 'ok'
    ? 'OK'
    : s.kind === 'warnings'
      ? `WARNINGS: ${s.count}`
      : s.kind === 'error'
        ? s.message
        : 'unknown'
}

/** The `.gc-status` file (PBS JSON shape), zeros when GC never ran. */
async function readGcStatusFile(store: Datastore): Promise<Record<string, unknown>> {
  const zero = {
    'index-file-count': 0,
    'index-data-bytes': 0,
    'disk-bytes': 0,
    'disk-chunks': 0,
    'removed-bytes': 0,
    'removed-chunks': 0,
    'pending-bytes': 0,
    'pending-chunks': 0,
    'removed-bad': 0,
    'still-bad': 0,
  }
  try {
    return {
      ...zero,
      ...(JSON.parse(await readFile(join(store.base, GC_STATUS_FILE), 'utf8')) as Record<string, unknown>),
    }
  } catch (e) {
    if (e instanceof SyntaxError)
      throw new DatastoreError(`reading GC status of store '${store.name}' failed - ${errorMessage(e)}`)
    return zero
  }
}

/** Groups the caller may act on in `ns` (all with a full privilege, else only owned ones). */
export async function accessibleGroups(
  call: ApiCall,
  store: Datastore,
  ns: BackupNamespace,
  limited: boolean,
): Promise<BackupGroupRef[]> {
  const out: BackupGroupRef[] = []
  for (const g of await listGroupRefs(store, ns)) {
    if (!limited) out.push(g)
    else {
      const owner = await readOwner(store, ns, g).catch(() => undefined)
      if (owner !== undefined && ownsGroup(owner, call.auth.authid)) out.push(g)
    }
  }
  return out
}
