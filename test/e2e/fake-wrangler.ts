/**
 * A stand-in for the `wrangler` commands `npm run setup` drives, for test/e2e/setup.test.ts: the
 * account (queues, D1 databases and their applied migrations, the Worker and its secrets) kept
 * as JSON in FAKE_WRANGLER_STATE, each command printing what wrangler 4 prints (formats read from
 * wrangler-dist/cli.js: cli-table3 tables, `d1 list --json`, `secret list --format json`, the
 * create snippet, deploy's "Deployed … triggers" and target lines, `deployments status`'s
 * versions and tags) and failing where it fails.
 * Every call is appended to calls.log there; FAKE_WRANGLER_FAIL="<command prefix>" makes that
 * command fail, as an interrupted run would; FAKE_WRANGLER_URL is the deployed Worker's URL.
 */
import { randomUUID } from 'node:crypto'
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

interface State {
  loggedIn: boolean
  queues: { queue_id: string; queue_name: string; created_on: string }[]
  databases: { uuid: string; name: string; created_at: string; version: string; num_tables: number; file_size: number }[]
  applied: Record<string, string[]>
  /** The Worker; `versions` newest first, each with its `--tag`: a deploy adds one, so does a secret put once deployed. */
  worker?: { versions: { id: string; tag?: string }[] }
  secrets: Record<string, string>
  buckets?: { name: string; creation_date: string }[]
}

const dir = process.env.FAKE_WRANGLER_STATE
if (!dir) throw new Error('FAKE_WRANGLER_STATE is not set')
const file = path.join(dir, 'state.json')
const state: State = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { loggedIn: true, queues: [], databases: [], applied: {}, secrets: {} }
const save = () => writeFileSync(file, JSON.stringify(state, null, 2))

const args = process.argv.slice(2)
const line = args.join(' ')
const stdin = args[0] === 'secret' && args[1] === 'put' ? readFileSync(0, 'utf8') : ''
appendFileSync(path.join(dir, 'calls.log'), `${line}\n`)

const banner = () => console.log(' ⛅️ wrangler 4.156.2\n───────────────────')
function error(message: string): never {
  console.error(`\n✘ [ERROR] ${message}\n`)
  process.exit(1)
}
if (process.env.FAKE_WRANGLER_FAIL && line.startsWith(process.env.FAKE_WRANGLER_FAIL)) error('fetch failed (the fake wrangler was told to fail here)')

/** cli-table3 as wrangler's logger.table draws it without colour: a rule between every row. */
function table(rows: Record<string, string>[]): string {
  const head = rows.length ? Object.keys(rows[0]!) : []
  const widths = head.map((h) => Math.max(h.length, ...rows.map((r) => r[h]!.length)) + 2)
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w)).join(m) + r
  const cells = (values: string[]) => `│${values.map((v, i) => ` ${v.padEnd(widths[i]! - 2)} `).join('│')}│`
  return [rule('┌', '┬', '┐'), cells(head), ...rows.flatMap((r) => [rule('├', '┼', '┤'), cells(head.map((h) => r[h]!))]), rule('└', '┴', '┘')].join('\n')
}

/** wrangler.toml as the command sees it (cwd), for what wrangler reads of it. */
const toml = () => readFileSync(path.join(process.cwd(), 'wrangler.toml'), 'utf8')
const configuredDatabaseId = () => /^\s*database_id\s*=\s*"([^"]*)"/m.exec(toml())?.[1]
const workerName = () => /^name\s*=\s*"([^"]*)"/m.exec(toml())?.[1] ?? 'worker'

/** `d1 migrations … <db> --remote`: the database wrangler.toml's database_id points at, as wrangler finds it. */
function remoteDatabase(name: string) {
  if (!args.includes('--remote')) error('the fake only knows --remote')
  const db = state.databases.find((d) => d.uuid === configuredDatabaseId())
  if (!db) error(`Couldn't find DB with name '${name}'`)
  return db
}
const pendingMigrations = (uuid: string) =>
  readdirSync(path.join(process.cwd(), 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .filter((f) => !(state.applied[uuid] ?? []).includes(f))

const PAGE = 2 // small, so setup's paging is exercised
const now = new Date().toISOString()

switch (args[0] === 'deploy' ? 'deploy' : `${args[0]} ${args[1] ?? ''}`.trim()) {
  case 'whoami --json':
    if (!state.loggedIn) {
      console.log('{"loggedIn":false}')
      process.exit(1)
    }
    console.log(JSON.stringify({ loggedIn: true, authType: 'OAuth Token', email: 'ops@example.com', accounts: [{ id: 'acc-1', name: 'Example' }] }))
    break
  case 'queues list': {
    banner()
    const page = Number(args[args.indexOf('--page') + 1] || 1)
    const rows = state.queues.slice((page - 1) * PAGE, page * PAGE)
    console.log(table(rows.map((q) => ({ id: q.queue_id, name: q.queue_name, created_on: q.created_on, modified_on: q.created_on, producers: '0', consumers: '0' }))))
    break
  }
  case 'queues create': {
    banner()
    const name = args[2]!
    if (state.queues.some((q) => q.queue_name === name)) error(`A queue with this name already exists. [code: 11009]`)
    console.log(`🌀 Creating queue '${name}'`)
    state.queues.push({ queue_id: randomUUID().replaceAll('-', ''), queue_name: name, created_on: now })
    save()
    console.log(`✅ Created queue '${name}'`)
    break
  }
  case 'r2 bucket': {
    banner()
    const buckets = (state.buckets ??= [])
    if (args[2] === 'list') {
      // wrangler's formatLabelledValues: one block per bucket, a blank line between.
      console.log('Listing buckets...')
      console.log(buckets.map((b) => `name:           ${b.name}\ncreation_date:  ${b.creation_date}`).join('\n\n'))
      break
    }
    if (args[2] !== 'create') error(`the fake only knows r2 bucket list and create`)
    const name = args[3]!
    if (buckets.some((b) => b.name === name)) error(`The bucket you tried to create already exists, and you own it. [code: 10004]`)
    console.log(`Creating bucket '${name}'...`)
    buckets.push({ name, creation_date: now })
    save()
    console.log(`✅ Created bucket '${name}' with default storage class of Standard.`)
    break
  }
  case 'd1 list':
    if (!args.includes('--json')) error('the fake only knows d1 list --json')
    console.log(JSON.stringify(state.databases, null, 2))
    break
  case 'd1 create': {
    banner()
    const name = args[2]!
    if (state.databases.some((d) => d.name === name)) error(`A database with that name already exists [code: 7502]`)
    const db = { uuid: randomUUID(), name, created_at: now, version: 'production', num_tables: 0, file_size: 0 }
    state.databases.push(db)
    save()
    console.log(`✅ Successfully created DB '${name}' in region WEUR\nCreated your new D1 database.\n`)
    console.log(`To access your new D1 Database in your Worker, add the following snippet to your configuration file:`)
    console.log(`[[d1_databases]]\nbinding = "${name.replace(/[^A-Za-z0-9_]/g, '_')}"\ndatabase_name = "${name}"\ndatabase_id = "${db.uuid}"`)
    break
  }
  case 'd1 migrations': {
    banner()
    const db = remoteDatabase(args[3]!)
    console.log('Resource location: remote \n')
    const pending = pendingMigrations(db.uuid)
    if (pending.length === 0) {
      console.log('✅ No migrations to apply!')
      break
    }
    console.log('Migrations to be applied:')
    if (args[2] === 'list') {
      console.log(table(pending.map((m) => ({ Name: m }))))
      break
    }
    console.log(table(pending.map((m) => ({ name: m }))))
    for (const m of pending) {
      state.applied[db.uuid] = [...(state.applied[db.uuid] ?? []), m]
      save()
    }
    console.log(table(pending.map((m) => ({ name: m, status: '✅' }))))
    break
  }
  case 'secret list':
    if (!state.worker) error(`Worker "${workerName()}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`)
    console.log(JSON.stringify(Object.keys(state.secrets).map((name) => ({ name, type: 'secret_text' })), null, '  '))
    break
  case 'secret put': {
    banner()
    const key = args[2]!
    console.log(`🌀 Creating the secret for the Worker "${workerName()}"`)
    if (!state.worker) {
      console.log(`🌀 Creating new Worker "${workerName()}"...`)
      state.worker = { versions: [] }
    } else if (state.worker.versions.length) state.worker.versions.unshift({ id: randomUUID() })
    state.secrets[key] = stdin.replace(/\s+$/, '')
    save()
    console.log(`✨ Success! Uploaded secret ${key}`)
    break
  }
  case 'deploy': {
    banner()
    const id = configuredDatabaseId()
    if (!state.databases.some((d) => d.uuid === id)) error(`Couldn't find a D1 DB with the name or binding 'lead-intake' [code: 7404]`)
    for (const q of [...toml().matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]*)"/gm)].map((m) => m[1]!)) {
      if (!state.queues.some((x) => x.queue_name === q)) error(`Queue "${q}" does not exist. To create it, run: wrangler queues create ${q}`)
    }
    for (const b of [...toml().matchAll(/^\s*bucket_name\s*=\s*"([^"]*)"/gm)].map((m) => m[1]!)) {
      if (!(state.buckets ?? []).some((x) => x.name === b)) error(`R2 bucket '${b}' not found. Please use a different name and try again. [code: 10085]`)
    }
    const tag = args.includes('--tag') ? args[args.indexOf('--tag') + 1] : undefined
    state.worker = { versions: [{ id: randomUUID(), ...(tag ? { tag } : {}) }, ...(state.worker?.versions ?? [])] }
    save()
    console.log('Total Upload: 612.40 KiB / gzip: 118.20 KiB\nUploaded lead-intake (2.31 sec)')
    console.log(`Deployed ${workerName()} triggers (0.84 sec)\n  ${process.env.FAKE_WRANGLER_URL}\n  schedule: 17 3 * * *\n  Producer for lead-intake-leads\n  Consumer for lead-intake-leads`)
    console.log(`Current Version ID: ${state.worker.versions[0]!.id}`)
    break
  }
  case 'deployments status': {
    banner()
    const current = state.worker?.versions[0]
    if (!current) error(`The Worker ${workerName()} has no deployments.`)
    // formatLabelledValues as wrangler lays it out, colour off; "-" for a blank.
    console.log(`Created:     ${now}\nAuthor:      ops@example.com\nSource:      Unknown (deployment)\nMessage:     -`)
    console.log(`Version(s):  (100%) ${current.id}\n                 Created:  ${now}\n                     Tag:  ${current.tag ?? '-'}\n                 Message:  -`)
    break
  }
  default:
    error(`the fake wrangler does not know \`wrangler ${line}\``)
}
