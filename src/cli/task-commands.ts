/**
 * `pbs-store task list|log|status|abort` and `pbs-store login`: commands that only exist against
 * a server (`--server URL`).
 */
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline/promises'

import type { Command } from 'commander'

import { ValidationError } from '../errors.js'
import { integerArg, storeArg, upidArg, useridArg } from './cli-args.js'
import { cliContext } from './context.js'
import { emit, formatTable, type OutputSink } from './output.js'
import { followToEnd } from './remote-commands.js'
import { anonymousClient, remoteClient, saveTicket, serverUrl, ticketFile } from './remote-context.js'

/** `pbs-store task …` */
export function registerTaskCommands(program: Command, sink: OutputSink): void {
  const task = program
    .command('task')
    .description('list, follow and abort worker tasks of a server (--server)')

  task
    .command('list')
    .description('list tasks, running first, newest first')
    .option('--limit <n>', 'at most this many tasks', integerArg('--limit', 0), 50)
    .option('--running', 'only running tasks')
    .option('--errors', 'only failed tasks')
    .option('--store <store>', 'only tasks of this datastore', storeArg())
    .option('--typefilter <type>', "only this worker type, e.g. 'move-group'")
    .action(
      async (
        o: { limit: number; running?: boolean; errors?: boolean; store?: string; typefilter?: string },
        cmd: Command,
      ) => {
        const ctx = cliContext(cmd, sink)
        const client = await remoteClient(cmd)
        const { tasks } = await client.listTasks({
          limit: o.limit,
          ...(o.running ? { running: true } : {}),
          ...(o.errors ? { errors: true } : {}),
          ...(o.store === undefined ? {} : { store: o.store }),
          ...(o.typefilter === undefined ? {} : { typefilter: o.typefilter }),
        })
        emit(sink, ctx.format, tasks, () =>
          formatTable(tasks, [
            {
              header: 'started',
              value: (t) => new Date(t.starttime * 1000).toISOString().replace('.000', ''),
            },
            { header: 'type', value: (t) => t.worker_type },
            { header: 'id', value: (t) => t.worker_id },
            { header: 'user', value: (t) => t.user },
            { header: 'status', value: (t) => t.status ?? 'running' },
            { header: 'upid', value: (t) => t.upid },
          ]),
        )
      },
    )

  task
    .command('log')
    .description('print the log of a task (with --follow: until it ends, then exit with its status)')
    .argument('<upid>', 'task id (UPID)', upidArg())
    .option('--follow', 'keep printing new lines until the task stops')
    .action(async (upid: string, o: { follow?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const client = await remoteClient(cmd)
      if (o.follow) {
        // Log lines go to stdout here: they are the result.
        const toStdout = { out: (t: string) => sink.out(t), err: (t: string) => sink.out(t) }
        await followToEnd({ ...ctx, sink: toStdout, format: 'text' }, client, upid)
        return
      }
      const page = await client.taskLog(upid, 0, 0)
      emit(sink, ctx.format, page.lines, () => page.lines.map((l) => `${l.t}\n`).join(''))
    })

  task
    .command('status')
    .description('show the status of a task')
    .argument('<upid>', 'task id (UPID)', upidArg())
    .action(async (upid: string, _o: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const client = await remoteClient(cmd)
      const s = await client.taskStatus(upid)
      emit(sink, ctx.format, s, () => {
        const p = s.progress
        return (
          `${s.type}${s.id ? ` ${s.id}` : ''}: ${s.status}${s.exitstatus ? ` - ${s.exitstatus}` : ''}\n` +
          (p && s.status === 'running' ? `progress: ${p.done}/${p.total}${p.unit ? ` ${p.unit}` : ''}\n` : '')
        )
      })
    })

  task
    .command('abort')
    .description('ask a running task to abort')
    .argument('<upid>', 'task id (UPID)', upidArg())
    .action(async (upid: string, _o: unknown, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const client = await remoteClient(cmd)
      await client.stopTask(upid)
      emit(sink, ctx.format, null, () => `abort requested for task ${upid}\n`)
    })
}

/** `pbs-store login --server URL --user U`: saves a ticket for later remote commands. */
export function registerLoginCommand(program: Command, sink: OutputSink): void {
  program
    .command('login')
    .description('log in to a server and keep the ticket in <home>/.remote-ticket (valid 2 hours)')
    .requiredOption('--user <userid>', "user, e.g. 'admin@pbs'", useridArg('--user'))
    .action(async (o: { user: string }, cmd: Command) => {
      const ctx = cliContext(cmd, sink)
      const server = serverUrl(cmd)
      if (server === undefined) throw new ValidationError('--server', undefined, 'is required for login')
      // The user id was checked while parsing; check the TLS options before asking for a password.
      const client = anonymousClient(cmd, server)
      const password = process.env.PBS_STORE_PASSWORD || (await prompt(`password for ${o.user}: `))
      const t = await client.api.login(o.user, password)
      if (t.ticket === undefined) throw new ValidationError('ticket', undefined, 'the server sent no ticket')
      await mkdir(dirname(ticketFile(cmd)), { recursive: true })
      const file = await saveTicket(cmd, {
        server,
        username: t.username,
        ticket: t.ticket,
        csrf: t.CSRFPreventionToken,
      })
      emit(
        sink,
        ctx.format,
        { username: t.username, server },
        () => `logged in to ${server} as ${t.username} (ticket in ${file})\n`,
      )
    })
}

/** Reads one line from the terminal (the password is echoed: prefer PBS_STORE_PASSWORD in scripts). */
async function prompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false })
  try {
    return await rl.question(question)
  } finally {
    rl.close()
  }
}
