/**
 * `npm run setup`: from a fresh clone and `npx wrangler login` to a deployed Worker, in one
 * command. It drives wrangler as README's "Deploy to Cloudflare" lists the steps by hand: the
 * queues, the D1 database (its id written into wrangler.toml), the migrations, the secrets
 * (HASH_SECRET and OPERATOR_TOKEN generated; UNIFIED_API_KEY and the connection id asked for),
 * the deploy; then it prints the URLs to paste and checks the deployed Worker.
 *
 * Every step looks first (wrangler's own listings) and says "already done" when it is, so a second
 * run changes nothing that is right and an interrupted run is finished by running it again. It
 * never overwrites a secret that exists, and deploys only when what would ship differs from the
 * version production runs (a tag with their hash). `--dry-run` lists and prints the plan, changing nothing.
 *
 *   npm run setup
 *   npm run setup -- --dry-run
 *   npm run setup -- --unified-api-key "$KEY" --connection "$ID"   # CI; or env UNIFIED_API_KEY, UNIFIED_CONNECTION_ID
 *
 * It acts on the project in the current directory (npm runs it in the project's root).
 * LEAD_INTAKE_WRANGLER names another wrangler to drive (a script run with this Node): the tests'
 * fake of it.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { unstable_readConfig } from 'wrangler'
import { printConnectionCheck } from './connection-report.ts'
import { ensureModernNode, ROOT, wranglerEnv } from './local-stack.ts'
import { databaseNamed, setTomlString } from './setup-toml.ts'
import { importWorkerModule } from './worker-module.ts'

await ensureModernNode()

const { values: flags } = parseArgs({
  options: {
    'dry-run': { type: 'boolean' },
    'unified-api-key': { type: 'string' },
    connection: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (flags.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*\n|^ \* ?/gm, ''))
  process.exit(0)
}
// `npm run setup --dry-run` (without `--`) reaches us as npm's own setting.
const dryRun = flags['dry-run'] === true || process.env.npm_config_dry_run === 'true'

const PROJECT = process.cwd()
const CONFIG = path.join(PROJECT, 'wrangler.toml')
if (!existsSync(CONFIG)) fail(`no wrangler.toml in ${PROJECT}: run npm run setup in the project's folder.`)

/** The keys of wrangler's config that setup reads (its own type does not resolve here). */
interface WranglerConfig {
  name?: string
  account_id?: string
  vars: Record<string, unknown>
  queues: { producers: { queue: string }[]; consumers: { queue: string; dead_letter_queue?: string }[] }
  d1_databases: { binding: string; database_name?: string; database_id?: string }[]
  r2_buckets?: { binding: string; bucket_name?: string }[]
}

/** What setup needs of wrangler.toml, read as wrangler reads it. */
function readConfig() {
  const c = unstable_readConfig({ config: CONFIG }, { hideWarnings: true }) as unknown as WranglerConfig
  const queues = [...new Set([...c.queues.producers.map((p) => p.queue), ...c.queues.consumers.flatMap((q) => [q.queue, q.dead_letter_queue ?? []].flat())])]
  const db = c.d1_databases.find((d) => d.binding === 'DB') ?? c.d1_databases[0]
  if (!db?.database_name) fail('wrangler.toml has no [[d1_databases]] entry with a database_name (binding "DB").')
  const buckets = [...new Set((c.r2_buckets ?? []).map((b) => b.bucket_name).filter((b): b is string => !!b))]
  return { name: c.name ?? 'lead-intake', accountId: c.account_id, queues, buckets, db: { name: db.database_name, id: db.database_id ?? '' }, vars: c.vars }
}
let config = readConfig()

// ── wrangler ───────────────────────────────────────────────────────────────────────────────
// Not local-stack's runWrangler: setup needs stdout apart from stderr (JSON listings), stdin
// (a secret's value) and the exit code of a listing that may fail (a Worker not deployed yet).

const WRANGLER = process.env.LEAD_INTAKE_WRANGLER || path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs wrangler in the project, never prompting (CI mode, stdin from `input`); `show` echoes its output as it comes. */
function wrangler(args: string[], { input = '', show = false } = {}): Promise<Run> {
  if (show) console.log(`  $ wrangler ${args.join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], {
      cwd: PROJECT,
      env: wranglerEnv({ CI: 'true', FORCE_COLOR: '0' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d
      if (show) process.stdout.write(indent(String(d)))
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      if (show) process.stderr.write(indent(String(d)))
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
    child.stdin.end(input)
  })
}

const indent = (text: string) => text.replace(/^(?=.)/gm, '    ')

/** `wrangler …` that must succeed: its output, or setup stops with what wrangler said. */
async function must(args: string[], options: { input?: string; show?: boolean } = {}): Promise<string> {
  const run = await wrangler(args, options)
  if (run.code !== 0) {
    if (!options.show) console.error(indent(`${run.stdout}${run.stderr}`.trim()))
    fail(`\`wrangler ${args.join(' ')}\` failed (exit ${run.code}). Fix what it says and run npm run setup again: what is done stays done.`)
  }
  return run.stdout
}

function fail(message: string): never {
  console.error(`\nnpm run setup: ${message}`)
  process.exit(1)
}

/** The rows of a table wrangler printed (cli-table3: `│ a │ b │` lines, the first the header), as objects. */
function tableRows(text: string): Record<string, string>[] {
  const rows = text
    .split('\n')
    .filter((l) => l.trimStart().startsWith('│'))
    .map((l) => l.trim().slice(1, -1).split('│').map((c) => c.trim()))
  const [head, ...body] = rows
  return head ? body.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i] ?? '']))) : []
}

/** What a deploy ships, hashed: wrangler.toml, the lock file (the dependencies), src/ and static/. */
function fingerprint(): string {
  const hash = createHash('sha256')
  const files = (dir: string): string[] =>
    readdirSync(path.join(PROJECT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]))
  const shipped = [...['wrangler.toml', 'package-lock.json'], ...['src', 'static'].filter((d) => existsSync(path.join(PROJECT, d))).flatMap(files)]
  for (const file of shipped.filter((f) => existsSync(path.join(PROJECT, f))).sort()) hash.update(`${file}\0`).update(readFileSync(path.join(PROJECT, file))).update('\0')
  return hash.digest('hex').slice(0, 16)
}

/** The tag of the version production runs, when one version takes all its traffic. */
async function deployedTag(): Promise<string | undefined> {
  const run = await wrangler(['deployments', 'status'])
  if (run.code !== 0) return undefined // not deployed yet
  const versions = [...run.stdout.matchAll(/\((\d+)%\)\s+[0-9a-f-]{36}/g)]
  const tags = [...run.stdout.matchAll(/^\s*Tag:\s+(\S+)\s*$/gm)].map((m) => m[1])
  return versions.length === 1 && versions[0]![1] === '100' && tags.length === 1 ? tags[0] : undefined
}

// ── output ─────────────────────────────────────────────────────────────────────────────────

const done = (what: string) => console.log(`✓ ${what}: already done`)
const doing = (what: string) => console.log(dryRun ? `→ would ${what}` : `→ ${what}`)

// ── what there is ──────────────────────────────────────────────────────────────────────────

console.log(`lead-intake setup${dryRun ? ' (dry run: nothing is changed)' : ''}: ${CONFIG}\n`)

const whoami = await wrangler(['whoami', '--json'])
const account = (() => {
  try {
    return JSON.parse(whoami.stdout) as { loggedIn: boolean; accounts?: { id: string; name: string }[] }
  } catch {
    return { loggedIn: false }
  }
})()
const loggedIn = whoami.code === 0 && account.loggedIn
if (!loggedIn) {
  if (!dryRun) fail('not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then npm run setup again.')
  console.log('Not logged in to Cloudflare (npx wrangler login): nothing listed, so every step says what it would find or create.\n')
} else if ((account.accounts?.length ?? 0) > 1 && !process.env.CLOUDFLARE_ACCOUNT_ID && !config.accountId) {
  // wrangler can't pick one without asking, and setup never lets it ask.
  fail(`your login has several accounts; choose one with CLOUDFLARE_ACCOUNT_ID=<id> npm run setup:\n${account.accounts!.map((a) => `  ${a.id}  ${a.name}`).join('\n')}`)
}

/** Every queue's name in the account (wrangler pages its list; an empty page ends it). */
async function listQueues(): Promise<Set<string>> {
  const names = new Set<string>()
  for (let page = 1; page <= 100; page++) {
    const rows = tableRows(await must(['queues', 'list', '--page', String(page)]))
    const before = names.size
    for (const r of rows) if (r.name) names.add(r.name)
    if (rows.length === 0 || names.size === before) break
  }
  return names
}

/** Every R2 bucket's name in the account (`r2 bucket list` prints a `name:` line per bucket). */
const listBuckets = async () => new Set([...(await must(['r2', 'bucket', 'list'])).matchAll(/^name:\s+(\S+)/gm)].map((m) => m[1]!))

type Database = { uuid: string; name: string }
/** `d1 list --json`: the JSON array, whatever wrangler may print before it. */
const listDatabases = async () => {
  const out = await must(['d1', 'list', '--json'])
  return JSON.parse(out.slice(Math.max(0, out.search(/^\[/m)))) as Database[]
}

/** The Worker's secrets' names; none while the Worker does not exist yet. */
async function listSecrets(): Promise<Set<string>> {
  const run = await wrangler(['secret', 'list', '--format', 'json'])
  if (run.code !== 0 && /Worker ".*" not found|workers\.api\.error\.script_not_found|\[code: 10007\]/.test(run.stdout + run.stderr)) return new Set()
  if (run.code !== 0) {
    console.error(indent(`${run.stdout}${run.stderr}`.trim()))
    fail(`\`wrangler secret list\` failed (exit ${run.code}).`)
  }
  return new Set((JSON.parse(run.stdout) as { name: string }[]).map((s) => s.name))
}

const queues = loggedIn ? await listQueues() : undefined
const databases = loggedIn ? await listDatabases() : undefined
const buckets = loggedIn && config.buckets.length ? await listBuckets() : undefined
const secrets = loggedIn ? await listSecrets() : undefined

// ── what only the user knows: asked before anything changes ────────────────────────────────

// One reader for every question, its lines queued: a line typed ahead answers the next question.
let terminal: readline.Interface | undefined
let muted = false
const typed: string[] = []
let waiting: ((line: string) => void) | undefined

/** A line typed at the terminal; `hidden` echoes nothing (an API key). */
function ask(question: string, hidden = false): Promise<string> {
  if (!terminal) {
    terminal = readline.createInterface({
      input: process.stdin,
      output: new Writable({
        write(chunk, encoding, callback) {
          if (!muted) process.stdout.write(chunk, encoding)
          callback()
        },
      }),
      terminal: true,
    })
    terminal.on('line', (line) => {
      if (waiting) waiting(line)
      else typed.push(line)
    })
  }
  process.stdout.write(question)
  muted = hidden
  return new Promise((resolve) => {
    const answer = (line: string) => {
      waiting = undefined
      muted = false
      if (hidden) process.stdout.write('\n')
      resolve(line.trim())
    }
    if (typed.length) answer(typed.shift()!)
    else waiting = answer
  })
}

const interactive = process.stdin.isTTY === true
const tomlConnection = typeof config.vars.UNIFIED_CONNECTION_ID === 'string' ? config.vars.UNIFIED_CONNECTION_ID : ''
let connection = flags.connection ?? process.env.UNIFIED_CONNECTION_ID ?? ''
if (!connection && !tomlConnection && !dryRun) {
  if (!interactive) fail('no Unified connection id: pass --connection <id> or set UNIFIED_CONNECTION_ID.')
  connection = await ask("Your Unified.to connection id (the customer's CRM, from Unified's dashboard): ")
  if (!connection) fail('a connection id is needed.')
}

let apiKey = flags['unified-api-key'] ?? process.env.UNIFIED_API_KEY ?? ''
const keyStored = secrets?.has('UNIFIED_API_KEY') === true
if (!apiKey && !keyStored && !dryRun) {
  if (!interactive) fail('no Unified API key: pass --unified-api-key <key> or set UNIFIED_API_KEY.')
  apiKey = await ask('Your Unified.to API key (not shown as you type): ', true)
  if (!apiKey) fail('an API key is needed.')
}
terminal?.close()

// ── the steps ──────────────────────────────────────────────────────────────────────────────

console.log('')
for (const queue of config.queues) {
  const what = `queue ${queue}`
  if (queues?.has(queue)) done(what)
  else {
    doing(`create ${what}${queues ? '' : ' (or find it)'}`)
    if (!dryRun) await must(['queues', 'create', queue], { show: true })
  }
}

// Payloads and files live in R2 (README "Where things are kept").
for (const bucket of config.buckets) {
  const what = `R2 bucket ${bucket}`
  if (buckets?.has(bucket)) done(what)
  else {
    doing(`create ${what}${buckets ? '' : ' (or find it)'}`)
    if (!dryRun) await must(['r2', 'bucket', 'create', bucket], { show: true })
  }
}

// The database: the one wrangler.toml names by id if the account has it, else the one of its name, else a new one.
let databaseId: string | undefined
{
  const { name, id } = config.db
  const found = databases?.find((d) => d.uuid === id) ?? databases?.find((d) => d.name === name)
  if (found) {
    done(`D1 database ${found.name} (${found.uuid})`)
    databaseId = found.uuid
  } else {
    doing(`create D1 database ${name}${databases ? '' : ' (or find it)'}`)
    if (!dryRun) {
      const created = await must(['d1', 'create', name], { show: true })
      // wrangler prints the snippet to paste: database_id = "<uuid>" (TOML) or "database_id": "<uuid>".
      databaseId = /database_id"?\s*[=:]\s*"([0-9a-f-]{36})"/.exec(created)?.[1] ?? (await listDatabases()).find((d) => d.name === name)?.uuid
      if (!databaseId) fail(`created D1 database ${name} but could not read its id; run npm run setup again to find it.`)
    }
  }
}

/** wrangler.toml with one key changed in place (setup-toml.ts), then read back as wrangler reads it. */
function writeToml(table: string, key: string, value: string, pick?: (lines: string[]) => boolean) {
  writeFileSync(CONFIG, setTomlString(readFileSync(CONFIG, 'utf8'), table, key, value, pick))
  config = readConfig()
}

if (databaseId && config.db.id === databaseId) done(`database_id in wrangler.toml`)
else {
  doing(`write the database's id into wrangler.toml (database_id${databaseId ? ` = "${databaseId}"` : ''})`)
  if (!dryRun) writeToml('d1_databases', 'database_id', databaseId!, databaseNamed(config.db.name))
}

// Migrations: wrangler's list of those not applied yet. Not in a dry run: listing creates its table.
const migrationsDir = path.join(PROJECT, 'migrations')
const migrationCount = existsSync(migrationsDir) ? readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).length : 0
if (dryRun) doing(`apply the migrations not yet applied (of ${migrationCount} in migrations/): wrangler d1 migrations apply ${config.db.name} --remote`)
else {
  const pending = await must(['d1', 'migrations', 'list', config.db.name, '--remote'])
  if (/No migrations to apply/.test(pending)) done('migrations')
  else {
    doing(`apply ${tableRows(pending).length || 'the'} migrations not yet applied`)
    await must(['d1', 'migrations', 'apply', config.db.name, '--remote'], { show: true })
  }
}

if (connection && connection !== tomlConnection) {
  doing(`write UNIFIED_CONNECTION_ID = "${connection}" into wrangler.toml's [vars]`)
  if (!dryRun) writeToml('vars', 'UNIFIED_CONNECTION_ID', connection)
} else if (tomlConnection) done(`UNIFIED_CONNECTION_ID in wrangler.toml (${tomlConnection})`)
else doing('ask for the Unified connection id and write it into wrangler.toml (UNIFIED_CONNECTION_ID)')

/** Random bytes from Web Crypto, as hex or base64url. */
const random = (bytes: number, encoding: 'hex' | 'base64url') => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString(encoding)

const putSecret = (name: string, value: string) => must(['secret', 'put', name], { input: value, show: true })
let operatorToken: string | undefined
const secretSteps: [name: string, value: () => string | undefined, how: string][] = [
  ['HASH_SECRET', () => random(32, 'hex'), 'generate and store secret HASH_SECRET'],
  ['OPERATOR_TOKEN', () => (operatorToken = random(32, 'base64url')), 'generate and store secret OPERATOR_TOKEN (the token printed once)'],
  ['UNIFIED_API_KEY', () => apiKey || undefined, apiKey ? 'store the given key as secret UNIFIED_API_KEY' : 'ask for the key and store it as secret UNIFIED_API_KEY'],
]
for (const [name, value, how] of secretSteps) {
  if (secrets?.has(name)) done(`secret ${name}${name === 'UNIFIED_API_KEY' && apiKey ? ' (kept; to replace it: npx wrangler secret put UNIFIED_API_KEY)' : ''}`)
  else {
    doing(how)
    if (!dryRun) {
      await putSecret(name, value()!)
      secrets!.add(name)
      // Shown as soon as it is stored: a later step failing must not lose the only sight of it.
      if (name === 'OPERATOR_TOKEN') console.log(`\n  OPERATOR_TOKEN (the password of /operator/, shown this once; keep it in your password manager):\n\n    ${operatorToken}\n`)
    }
  }
}

// Deploy unless production already runs this very code and configuration: each deploy by setup
// is tagged with a fingerprint of what it ships, and `wrangler deployments status` shows the tag.
const tag = `setup-${fingerprint()}`
const CACHE = path.join(PROJECT, '.wrangler', 'setup.json')
const cachedUrl = existsSync(CACHE) ? (JSON.parse(readFileSync(CACHE, 'utf8')) as { url?: string; tag?: string }) : {}
let workerUrl: string | undefined
if (loggedIn && cachedUrl.tag === tag && (await deployedTag()) === tag) {
  done(`deploy (production runs this code and wrangler.toml, version tag ${tag})`)
  workerUrl = cachedUrl.url
} else {
  doing(`deploy the Worker ${config.name}`)
  if (!dryRun) {
    const out = await must(['deploy', '--tag', tag], { show: true })
    // wrangler: "Deployed <name> triggers (…)" and then one target a line, "  https://<name>.<subdomain>.workers.dev" among them.
    const deployed = out.search(/^Deployed /m)
    const targets = deployed < 0 ? [] : out.slice(deployed).split('\n').map((l) => l.trim())
    workerUrl = (targets.find((t) => /^https?:\/\/\S+\.workers\.dev$/.test(t)) ?? targets.find((t) => /^https?:\/\/\S+$/.test(t)))?.replace(/\/$/, '')
    // The URL is printed by a deploy only: kept for the next run that has nothing to deploy.
    mkdirSync(path.dirname(CACHE), { recursive: true })
    writeFileSync(CACHE, `${JSON.stringify({ url: workerUrl, tag }, null, 2)}\n`)
  }
}

// ── where to point things, and is it working ──────────────────────────────────────────────

const base = workerUrl ?? 'https://<your worker>'
console.log(`\nWorker   ${workerUrl ?? (dryRun ? '(its URL, once deployed)' : '(no workers.dev URL: wrangler printed none; see your routes)')}`)
const forms = Object.keys((config.vars.FORMS as Record<string, unknown> | undefined) ?? {})
for (const id of forms) console.log(`Form     POST ${base}/forms/${id}`)

type Endpoint = { id: string; secret: string; builtIn?: string; config: { preset?: string } }
const { endpoints } = await importWorkerModule<{ endpoints(env: object): Endpoint[] }>(path.join(ROOT, 'src/sources/registry.ts'))
/** Every webhook endpoint; none, with the reason, when the configuration is invalid (a deploy stops on it too). */
const configured = (): Endpoint[] => {
  try {
    return endpoints(config.vars)
  } catch (error) {
    console.log(`Webhooks: not listed, the configuration is invalid (npm run check-config says how to fix it): ${(error as Error).message}`)
    return []
  }
}
for (const e of configured()) {
  const has = secrets?.has(e.secret)
  // A built-in (Typeform, Stripe) is listed once it is configured or its secret is set, as the connection check lists it.
  if (e.builtIn && !config.vars[e.builtIn] && !has) continue
  const url = e.config.preset === 'jotform' ? `${base}/webhooks/${e.id}/<the token in ${e.secret}>` : `${base}/webhooks/${e.id}`
  const secretNote = has ? `${e.secret} is set` : has === false ? `set ${e.secret}: npx wrangler secret put ${e.secret}` : `needs ${e.secret}`
  console.log(`Webhook  ${url}  (${secretNote})`)
}

if (dryRun) {
  console.log('\nWould then check GET /healthz?ready and the CRM connection (npm run check-connection).')
  process.exit(0)
}

let failing = false
if (workerUrl) {
  // A new workers.dev name takes a moment to resolve: a few tries before calling it unreachable.
  let answer: string | undefined
  for (let attempt = 0; attempt < 6 && !answer; attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, 5_000))
    answer = await fetch(`${workerUrl}/healthz?ready`, { signal: AbortSignal.timeout(10_000) })
      .then(async (r) => {
        failing ||= r.status !== 200
        return `${r.status} ${(await r.text()).trim()}`
      })
      .catch(() => undefined)
  }
  console.log(`\nGET /healthz?ready: ${answer ?? 'no answer (try it again in a minute)'}`)
  failing ||= !answer
}

if (apiKey) {
  const env = { ...config.vars, UNIFIED_API_KEY: apiKey, UNIFIED_API_URL: (config.vars.UNIFIED_API_URL as string) || undefined }
  failing = (await printConnectionCheck(env)) || failing
} else console.log('\nConnection check: UNIFIED_API_KEY was set before and is not readable back; run it with UNIFIED_API_KEY=<key> npm run check-connection.')

console.log(failing ? '\nSet up, with the problems above.' : '\nSet up: lead-intake is deployed and ready.')
process.exitCode = failing ? 1 : 0
