/**
 * `npm run check-connection`: what each CRM connection your sources write to accepts, read
 * from Unified (or a local stand-in): its integration and, per object, what that integration
 * can do (Unified's support data; objects it says nothing of probed read-only), and what every
 * configured source needs of it, with the setting to change where it can't.
 * The same check as `GET /operator/connection`, run from your machine before you deploy.
 *
 *   npm run check-connection                                  # UNIFIED_API_KEY from .dev.vars or the environment
 *   npm run check-connection -- --url http://127.0.0.1:8788   # a local stand-in (npm run dev prints its address)
 *
 * Exits 1 when a source would fail.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, parseEnv } from 'node:util'
import { unstable_readConfig } from 'wrangler'
import { importWorkerModule } from './worker-module.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: flags } = parseArgs({ options: { url: { type: 'string' }, key: { type: 'string' }, connection: { type: 'string' } } })

const devVarsFile = ['.dev.vars', '.env'].map((f) => path.join(root, f)).find(existsSync)
const devVars = devVarsFile ? parseEnv(readFileSync(devVarsFile, 'utf8')) : {}
const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml') }, { hideWarnings: true })
const setting = (name: string): string | undefined => process.env[name] || devVars[name] || (config.vars[name] as string | undefined) || undefined

const env = {
  ...config.vars,
  UNIFIED_API_KEY: flags.key ?? setting('UNIFIED_API_KEY') ?? (flags.url ? 'standin' : undefined),
  UNIFIED_API_URL: flags.url ?? setting('UNIFIED_API_URL'),
  UNIFIED_CONNECTION_ID: flags.connection ?? setting('UNIFIED_CONNECTION_ID') ?? (flags.url ? 'local-dev' : undefined),
  TYPEFORM_WEBHOOK_SECRET: setting('TYPEFORM_WEBHOOK_SECRET'),
  STRIPE_WEBHOOK_SECRET: setting('STRIPE_WEBHOOK_SECRET'),
}
if (!env.UNIFIED_API_KEY) {
  console.error('No UNIFIED_API_KEY: set it in .dev.vars or the environment, or point at a stand-in with --url.')
  process.exit(2)
}

// The check is the Worker's own code (src/operator/connection.ts).
// The bundle's export, typed by hand: the Worker's types (src/) are not this Node script's.
type Level = 'yes' | 'no' | 'unknown'
type ObjectLine = {
  object: string
  from: 'unified' | 'probe'
  methods?: Record<'list' | 'get' | 'create' | 'update' | 'remove', Level>
  query?: Level
  limit?: Level
  offset?: Level
  writes?: string[]
  readable?: string
  searchable?: string
  error?: string
}
type Report = {
  connection: string
  integration?: string
  support: 'unified' | 'fallback'
  supportError?: string
  error?: string
  objects: ObjectLine[]
  sources: { source: string; writes: string[]; problems: string[]; notes: string[] }[]
}
const { checkConnections } = await importWorkerModule<{ checkConnections(env: object): Promise<Report[]> }>(path.join(root, 'src/operator/connection.ts'))
const reports = await checkConnections(env)

/** "create, list" of the methods at `level`. */
const having = (o: ObjectLine, level: Level) => Object.entries(o.methods ?? {}).filter(([, l]) => l === level).map(([m]) => m).join(', ')
const search = (o: ObjectLine) => (o.object === 'event' ? 'not needed (events are only created)' : o.query === 'yes' ? 'by query' : o.query === 'no' ? 'no query: reads every record' : 'unknown')

function objectLine(o: ObjectLine): string {
  if (o.from === 'probe') return `  ${o.object.padEnd(8)} [probe]   readable: ${o.readable}, searchable: ${o.searchable}${o.error ? `  (${o.error})` : ''}`
  const can = having(o, 'yes')
  const cannot = having(o, 'no')
  return (
    `  ${o.object.padEnd(8)} [Unified] can: ${can || 'nothing known'}${cannot ? `; can't: ${cannot}` : ''}; search: ${search(o)}; limit: ${o.limit}, offset: ${o.offset}` +
    (o.writes ? `\n  ${''.padEnd(8)}           writes: ${o.writes.join(', ')}` : '')
  )
}

let failing = false
for (const r of reports) {
  console.log(`\nConnection ${r.connection || '(UNIFIED_CONNECTION_ID not set)'}${env.UNIFIED_API_URL ? ` at ${env.UNIFIED_API_URL}` : ''}`)
  if (r.support === 'unified') console.log(`  integration: ${r.integration ?? '?'} (Unified's support data${r.supportError ? `, as read earlier; reading it again failed: ${r.supportError}` : ''})`)
  else console.log(`  integration: ${r.integration ?? 'unknown'}; Unified's support data could not be read${r.supportError ? ` (${r.supportError})` : ''}: nothing assumed, every object probed read-only`)
  if (r.error) console.log(`  not checked: ${r.error}`)
  for (const o of r.objects) console.log(objectLine(o))
  for (const s of r.sources) {
    console.log(`  ${s.source} writes ${s.writes.join(', ')}`)
    for (const p of s.problems) console.log(`    PROBLEM: ${p}`)
    for (const n of s.notes) console.log(`    note: ${n}`)
    failing ||= s.problems.length > 0
  }
  failing ||= !!r.error
}
process.exitCode = failing ? 1 : 0
