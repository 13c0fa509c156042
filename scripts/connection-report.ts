/**
 * The connection check as `npm run check-connection` prints it, for every script that shows it
 * (check-connection, and setup once it has deployed): the Worker's own check
 * (src/operator/connection.ts) run here, one block per connection, a PROBLEM line per source that
 * would fail.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { importWorkerModule } from './worker-module.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

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

/** Prints the check of each connection `env` (the Worker's vars and secrets) writes to; true when a source would fail or a connection could not be checked. */
export async function printConnectionCheck(env: { UNIFIED_API_URL?: string | undefined } & object): Promise<boolean> {
  const { checkConnections } = await importWorkerModule<{ checkConnections(env: object): Promise<Report[]> }>(path.join(root, 'src/operator/connection.ts'))
  const reports = await checkConnections(env)
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
  return failing
}
