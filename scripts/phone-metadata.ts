/**
 * `npm run phone-metadata`: writes static/phone-metadata.json, libphonenumber-js's own "min"
 * metadata without the national formatting rules and the per-type patterns (fixed line, mobile…).
 * lead-intake only parses numbers (to E.164) and checks their possible lengths, which read
 * neither; together they are most of the metadata (19 KiB gzip become 7). It is a static asset
 * of the Worker, read once per isolate (src/lead/identity.ts says why), and the list of its
 * countries (src/lead/phone-countries.json) is all the bundle keeps, to check `default_country`
 * at start-up. test/identity.test.ts fails when the installed libphonenumber-js no longer
 * matches these files (run this again after upgrading it), and checks parsing against the full
 * min metadata.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const source = path.join(root, 'node_modules', 'libphonenumber-js', 'metadata.min.json')
const target = path.join(root, 'static', 'phone-metadata.json')
const countriesTarget = path.join(root, 'src', 'lead', 'phone-countries.json')

type Territory = unknown[]
interface Metadata {
  version: number
  countries: Record<string, Territory>
  nonGeographic?: Record<string, Territory>
}

/**
 * In metadata version 4 a territory's formats are its entry 4 and its types entry 11
 * (libphonenumber-js, es6/metadata.js: `_getFormats`, `types`).
 */
const DROPPED = new Set([4, 11])

export function withoutFormats(metadata: Metadata): Metadata {
  if (metadata.version !== 4) throw new Error(`libphonenumber-js metadata version ${metadata.version}: check where its formats live before trimming`)
  const trim = (territories: Record<string, Territory> = {}) =>
    Object.fromEntries(Object.entries(territories).map(([code, t]) => [code, t.map((entry, i) => (DROPPED.has(i) ? null : entry))]))
  return { ...metadata, countries: trim(metadata.countries), ...(metadata.nonGeographic ? { nonGeographic: trim(metadata.nonGeographic) } : {}) }
}

/** The territories the metadata can read numbers for: what `default_country` may be. */
export const countriesOf = (metadata: Metadata): string[] => Object.keys(metadata.countries).sort()

if (import.meta.url === `file://${process.argv[1]}`) {
  const trimmed = withoutFormats(JSON.parse(readFileSync(source, 'utf8')) as Metadata)
  writeFileSync(target, JSON.stringify(trimmed) + '\n')
  writeFileSync(countriesTarget, JSON.stringify(countriesOf(trimmed)) + '\n')
  console.log(`wrote ${path.relative(root, target)} (${JSON.stringify(trimmed).length} bytes) and ${path.relative(root, countriesTarget)}`)
}
