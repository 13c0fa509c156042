/**
 * `npm run setup` (scripts/setup.ts) run as a user runs it, on a fresh copy of the files it reads
 * (wrangler.toml, migrations/), driving a fake of the wrangler commands (fake-wrangler.ts, which
 * keeps the "account" in a temp dir and prints wrangler's own output formats) instead of Cloudflare.
 * The "deployed Worker" is a local server answering /healthz?ready; the connection check reads the
 * Unified stand-in. A dry run changes nothing; a run sets up everything; a second run is a no-op;
 * a run interrupted after the database step is finished by the next.
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { setTomlString } from '../../scripts/setup-toml.ts'
import { type RunningStandin, startStandin } from '../../standin/server.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const FAKE = path.join(ROOT, 'test/e2e/fake-wrangler.ts')
const KEY = 'unified-key-never-printed-8c1f'
const MIGRATIONS = readdirSync(path.join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).length

let standin: RunningStandin
let worker: Server
let workerUrl: string
let project: string
let state: string

beforeAll(async () => {
  standin = await startStandin()
  // The deployed Worker, as far as setup's last check sees it.
  worker = createServer((req, res) => {
    const ready = req.url === '/healthz?ready'
    res.writeHead(ready ? 200 : 404, { 'content-type': 'application/json' }).end(ready ? '{"status":"ready"}' : '{}')
  })
  await new Promise<void>((r) => worker.listen(0, '127.0.0.1', r))
  workerUrl = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`
})
afterAll(async () => {
  await standin.close()
  await new Promise((r) => worker.close(r))
})

beforeEach(() => {
  project = mkdtempSync(path.join(os.tmpdir(), 'lead-intake-setup-'))
  state = path.join(project, '.fake-account')
  mkdirSync(state)
  cpSync(path.join(ROOT, 'migrations'), path.join(project, 'migrations'), { recursive: true })
  // The shipped wrangler.toml, its Unified pointed at the stand-in, plus two webhook endpoints to paste.
  const toml = setTomlString(readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8'), 'vars', 'UNIFIED_API_URL', standin.url)
  writeFileSync(path.join(project, 'wrangler.toml'), `${toml}\n[vars.WEBHOOKS.tally]\npreset = "tally"\n[vars.WEBHOOKS.jf]\npreset = "jotform"\n`)
})
afterEach(() => rmSync(project, { recursive: true, force: true }))

interface Result {
  code: number
  output: string
}

/** `npm run setup -- <args>` in the project copy, with no terminal (as in CI), against the fake wrangler. */
function setup(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const base = { ...process.env }
  for (const name of ['UNIFIED_API_KEY', 'UNIFIED_CONNECTION_ID', 'CLOUDFLARE_ACCOUNT_ID', 'npm_config_dry_run']) delete base[name]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/setup.ts'), ...args], {
      cwd: project,
      env: { ...base, LEAD_INTAKE_WRANGLER: FAKE, FAKE_WRANGLER_STATE: state, FAKE_WRANGLER_URL: workerUrl, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d))
    child.stderr.on('data', (d: Buffer) => (output += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

const CI_ARGS = ['--unified-api-key', KEY, '--connection', 'conn-setup']

type Account = {
  loggedIn: boolean
  queues: { queue_name: string }[]
  databases: { uuid: string; name: string }[]
  applied: Record<string, string[]>
  secrets: Record<string, string>
}
const account = (): Account => JSON.parse(readFileSync(path.join(state, 'state.json'), 'utf8'))
const calls = (): string[] => readFileSync(path.join(state, 'calls.log'), 'utf8').trim().split('\n')
const toml = () => readFileSync(path.join(project, 'wrangler.toml'), 'utf8')
/** The wrangler commands that change something in the account. */
const changing = (list: string[]) => list.filter((c) => /^(queues create|r2 bucket create|d1 create|d1 migrations apply|secret put)/.test(c))

describe('npm run setup', () => {
  it('--dry-run prints the whole plan and changes nothing', async () => {
    writeFileSync(path.join(state, 'state.json'), JSON.stringify({ loggedIn: true, queues: [], databases: [], applied: {}, secrets: {} }))
    const before = toml()
    const { code, output } = await setup(['--dry-run'])
    expect(code, output).toBe(0)
    for (const step of [
      'would create queue lead-intake-leads',
      'would create queue lead-intake-dead-letters',
      'would create queue lead-intake-notifications',
      'would create R2 bucket lead-intake',
      'would create D1 database lead-intake',
      "would write the database's id into wrangler.toml",
      `would apply the migrations not yet applied (of ${MIGRATIONS} in migrations/)`,
      'would ask for the Unified connection id',
      'would generate and store secret HASH_SECRET',
      'would generate and store secret OPERATOR_TOKEN',
      'would ask for the key and store it as secret UNIFIED_API_KEY',
      'would deploy the Worker lead-intake',
      'Form     POST https://<your worker>/forms/contact',
      'Webhook  https://<your worker>/webhooks/tally  (set WEBHOOK_SECRET_TALLY: npx wrangler secret put WEBHOOK_SECRET_TALLY)',
    ]) {
      expect(output).toContain(step)
    }
    expect(toml()).toBe(before)
    expect(changing(calls())).toEqual([])
    expect(calls()).not.toContain('deploy')
    expect(account()).toMatchObject({ queues: [], databases: [], secrets: {} })
  })

  it('--dry-run without a login lists nothing and says what it would find or create', async () => {
    writeFileSync(path.join(state, 'state.json'), JSON.stringify({ loggedIn: false, queues: [], databases: [], applied: {}, secrets: {} }))
    const { code, output } = await setup(['--dry-run'])
    expect(code, output).toBe(0)
    expect(output).toContain('Not logged in to Cloudflare')
    expect(output).toContain('would create queue lead-intake-leads (or find it)')
    expect(output).toContain('would create D1 database lead-intake (or find it)')
    expect(calls()).toEqual(['whoami --json'])
  })

  it('without a terminal and without the key or connection id, says which flag is missing before changing anything', async () => {
    const before = toml()
    const noConnection = await setup(['--unified-api-key', KEY])
    expect(noConnection.code).toBe(1)
    expect(noConnection.output).toContain('no Unified connection id: pass --connection <id> or set UNIFIED_CONNECTION_ID.')
    const noKey = await setup([], { UNIFIED_CONNECTION_ID: 'conn-setup' })
    expect(noKey.code).toBe(1)
    expect(noKey.output).toContain('no Unified API key: pass --unified-api-key <key> or set UNIFIED_API_KEY.')
    expect(changing(calls())).toEqual([])
    expect(toml()).toBe(before)
  })

  it('sets everything up, writes the database id, and prints the URLs and checks', async () => {
    const before = toml()
    const { code, output } = await setup(CI_ARGS)
    expect(code, output).toBe(0)

    const acc = account()
    expect(acc.queues.map((q) => q.queue_name).sort()).toEqual(['lead-intake-dead-letters', 'lead-intake-leads', 'lead-intake-notifications'])
    expect((acc as { buckets?: { name: string }[] }).buckets?.map((b) => b.name)).toEqual(['lead-intake'])
    expect(acc.databases).toHaveLength(1)
    const id = acc.databases[0]!.uuid
    expect(acc.applied[id]).toHaveLength(MIGRATIONS)
    // Only the two keys changed, in place: every comment and line around them kept.
    const changed = toml().split('\n').filter((line, i) => line !== before.split('\n')[i])
    expect(changed).toEqual([`UNIFIED_CONNECTION_ID = "conn-setup"`, `database_id = "${id}"`])

    expect(acc.secrets.HASH_SECRET).toMatch(/^[0-9a-f]{64}$/)
    expect(acc.secrets.UNIFIED_API_KEY).toBe(KEY)
    expect(output).not.toContain(KEY)
    const token = acc.secrets.OPERATOR_TOKEN!
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(output.split(token).length - 1, 'the operator token is printed once').toBe(1)

    expect(output).toContain(`Worker   ${workerUrl}\n`)
    expect(output).toContain(`Form     POST ${workerUrl}/forms/contact`)
    expect(output).toContain(`Webhook  ${workerUrl}/webhooks/tally  (set WEBHOOK_SECRET_TALLY`)
    expect(output).toContain(`Webhook  ${workerUrl}/webhooks/jf/<the token in WEBHOOK_SECRET_JF>`)
    expect(output).toContain('GET /healthz?ready: 200 {"status":"ready"}')
    expect(output).toContain(`Connection conn-setup at ${standin.url}`)
    expect(output).toContain('integration: standin')
    expect(output).toContain('Set up: lead-intake is deployed and ready.')
  })

  it('run again, changes nothing: no create, no secret put, no deploy, wrangler.toml untouched', async () => {
    expect((await setup(CI_ARGS)).code).toBe(0)
    const first = { toml: toml(), account: account(), calls: calls().length }

    const { code, output } = await setup(CI_ARGS)
    expect(code, output).toBe(0)
    expect(toml()).toBe(first.toml)
    expect(account().secrets).toEqual(first.account.secrets)
    expect(account().databases).toEqual(first.account.databases)
    const again = calls().slice(first.calls)
    expect(changing(again)).toEqual([])
    expect(again).not.toContain(expect.stringMatching(/^deploy/))
    expect(output.match(/already done/g)).toHaveLength(12)
    expect(output).not.toContain(first.account.secrets.OPERATOR_TOKEN)
    // Still says where it is and whether it works.
    expect(output).toContain(`Form     POST ${workerUrl}/forms/contact`)
    expect(output).toContain('GET /healthz?ready: 200 {"status":"ready"}')

    // A change to what is deployed (here wrangler.toml) is deployed by the next run, and only that.
    writeFileSync(path.join(project, 'wrangler.toml'), setTomlString(toml(), 'vars', 'DEMO_PAGE', 'true'))
    const before = calls().length
    const changed = await setup(CI_ARGS)
    expect(changed.code, changed.output).toBe(0)
    expect(calls().slice(before).filter((c) => c.startsWith('deploy') || changing([c]).length)).toEqual([expect.stringMatching(/^deploy --tag setup-[0-9a-f]{16}$/)])
  })

  it('--dry-run after a run finds every step done but the migrations, which it does not list', async () => {
    expect((await setup(CI_ARGS)).code).toBe(0)
    const before = { toml: toml(), calls: calls().length }
    const { code, output } = await setup(['--dry-run'])
    expect(code, output).toBe(0)
    expect(output.match(/already done/g)).toHaveLength(11)
    // Migrations are the one step a dry run can't list (wrangler's listing creates its table): said as a plan.
    expect(output.match(/would /g)).toHaveLength(1)
    expect(output).toContain('would apply the migrations not yet applied')
    expect(output).toContain('Would then check GET /healthz?ready')
    expect(changing(calls().slice(before.calls))).toEqual([])
    expect(toml()).toBe(before.toml)
  })

  it('interrupted after the database step, finishes on the next run', async () => {
    const broken = await setup(CI_ARGS, { FAKE_WRANGLER_FAIL: 'd1 migrations apply' })
    expect(broken.code).toBe(1)
    expect(broken.output).toContain('run npm run setup again')
    const id = account().databases[0]!.uuid
    expect(toml()).toContain(`database_id = "${id}"`)
    expect(account().secrets).toEqual({})
    const callsBefore = calls().length

    const { code, output } = await setup(CI_ARGS)
    expect(code, output).toBe(0)
    const resumed = calls().slice(callsBefore)
    expect(resumed.filter((c) => /^(queues|d1|r2 bucket) create/.test(c))).toEqual([])
    expect(output).toContain(`D1 database lead-intake (${id}): already done`)
    expect(account().applied[id]).toHaveLength(MIGRATIONS)
    expect(Object.keys(account().secrets).sort()).toEqual(['HASH_SECRET', 'OPERATOR_TOKEN', 'UNIFIED_API_KEY'])
    expect(output).toContain('Set up: lead-intake is deployed and ready.')
  })
})
