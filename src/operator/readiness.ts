/**
 * `GET /healthz?ready`: can this deployment take leads and write them? The D1
 * schema, the delivery settings, and which of the settings that matter are
 * set, never their values. 503 with what to fix when something is missing,
 * or while a CRM connection is held (it refuses our credentials: its leads wait).
 */
import { deliverySettings, QUEUE_MAX_RETRIES } from '../config'
import { heldConnections } from '../store/held-connections'
import { checkSchema, type SchemaReport } from '../store/schema'

export interface Readiness {
  status: 'ready' | 'not-ready'
  /** One line per problem, each with its fix. */
  problems: string[]
  schema: SchemaReport | { ok: false; error: string }
  delivery: Record<string, number> | { error: string }
  settings: Record<string, 'set' | 'missing' | 'default' | 'custom'>
  /** Connections held now: which, why (status and fix, no secret), since when, and how many leads wait. */
  held: { connection: string; reason: string; since: string; submissions: number }[]
}

export async function readiness(env: Env): Promise<Readiness> {
  const problems: string[] = []
  let schema: Readiness['schema']
  try {
    schema = await checkSchema(env.DB)
    if (!schema.ok) problems.push(`D1 schema is missing ${schema.missing.join(', ')}: ${schema.fix}`)
  } catch (error) {
    schema = { ok: false, error: (error as Error).name }
    problems.push('D1 is unavailable (binding DB)')
  }
  let held: Readiness['held'] = []
  if (schema.ok) {
    held = (await heldConnections(env.DB).catch(() => [])).map((h) => ({ connection: h.connection, reason: h.reason, since: new Date(h.since).toISOString(), submissions: h.submissions }))
    for (const h of held) problems.push(`CRM connection ${h.connection} is held since ${h.since} (${h.submissions} lead(s) wait): ${h.reason}`)
  }
  let delivery: Readiness['delivery']
  try {
    delivery = { ...deliverySettings(env), QUEUE_MAX_RETRIES }
  } catch (error) {
    delivery = { error: (error as Error).message }
    problems.push((error as Error).message)
  }
  const set = (value: string | undefined) => (value ? 'set' : 'missing') as 'set' | 'missing'
  const settings = {
    UNIFIED_API_KEY: set(env.UNIFIED_API_KEY),
    UNIFIED_CONNECTION_ID: set(env.UNIFIED_CONNECTION_ID),
    UNIFIED_API_URL: env.UNIFIED_API_URL ? ('custom' as const) : ('default' as const),
    HASH_SECRET: set(env.HASH_SECRET),
    OPERATOR_TOKEN: set(env.OPERATOR_TOKEN),
  }
  if (!env.UNIFIED_API_KEY) problems.push('UNIFIED_API_KEY is not set: npx wrangler secret put UNIFIED_API_KEY')
  if (!env.UNIFIED_CONNECTION_ID) problems.push('UNIFIED_CONNECTION_ID is not set: set it under [vars] in wrangler.toml')
  if (!env.HASH_SECRET) problems.push('HASH_SECRET is not set: npx wrangler secret put HASH_SECRET (any long random string)')
  return { status: problems.length ? 'not-ready' : 'ready', problems, schema, delivery, settings, held }
}
