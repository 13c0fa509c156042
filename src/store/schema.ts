/**
 * Is the D1 schema there? A deployment whose migrations were never applied
 * (plain `wrangler dev`, a forgotten `migrations apply --remote`) fails every
 * write with "no such table"; this says so in words and names the command.
 */

/** The newest migration and what it brought, probed by selecting its columns (cheap, read-only). */
export const SCHEMA = {
  latest: '0015_overview_rollup',
  probes: [
    { migration: '0001_delivery_ids', sql: 'SELECT provider, event_id, submission_id FROM delivery_ids LIMIT 0' },
    { migration: '0003_submissions', sql: 'SELECT id, state, payload FROM submissions LIMIT 0' },
    { migration: '0004_identity_ledger', sql: 'SELECT connection, hash, person FROM identities LIMIT 0' },
    { migration: '0004_identity_ledger', sql: 'SELECT gen, hash_v FROM submissions LIMIT 0' },
    { migration: '0005_crm_records', sql: 'SELECT crm_ids FROM submissions LIMIT 0' },
    { migration: '0006_operator_console', sql: 'SELECT submission_id, hash, received_at FROM submission_keys LIMIT 0' },
    { migration: '0006_operator_console', sql: 'SELECT submission_id, gen, attempt, at, state, status, error, action, ms FROM submission_attempts LIMIT 0' },
    { migration: '0006_operator_console', sql: 'SELECT id, at, who, via, action, submission_id, detail FROM audit LIMIT 0' },
    { migration: '0007_privacy', sql: 'SELECT person, consent_version FROM submissions LIMIT 0' },
    { migration: '0007_privacy', sql: 'SELECT hash, erased_at FROM tombstones LIMIT 0' },
    { migration: '0008_company_ledger', sql: 'SELECT connection, hash, company, linked_at FROM company_keys LIMIT 0' },
    { migration: '0009_warnings', sql: 'SELECT warnings, warned FROM submissions LIMIT 0' },
    { migration: '0010_held', sql: 'SELECT connection FROM submissions LIMIT 0' },
    { migration: '0010_held', sql: 'SELECT connection, reason, since, probed_at FROM held_connections LIMIT 0' },
    { migration: '0011_notifications', sql: 'SELECT key, channel, state, attempts, lease_until FROM notifications LIMIT 0' },
    { migration: '0011_notifications', sql: 'SELECT condition, state, since, told_at FROM alerts LIMIT 0' },
    { migration: '0011_notifications', sql: 'SELECT signal, subject, at FROM alert_signals LIMIT 0' },
    { migration: '0012_catch_up', sql: 'SELECT source, form, seen_until, updated_at FROM catch_up_marks LIMIT 0' },
    { migration: '0012_catch_up', sql: 'SELECT source, since, reason FROM token_alerts LIMIT 0' },
    { migration: '0013_owner', sql: 'SELECT owner FROM submissions LIMIT 0' },
    { migration: '0014_r2_payloads', sql: 'SELECT payload_key FROM submissions LIMIT 0' },
    { migration: '0015_overview_rollup', sql: 'SELECT hour, source, state, n, warned FROM submission_hours LIMIT 0' },
  ],
} as const

export const MIGRATE_COMMAND = 'npx wrangler d1 migrations apply lead-intake --remote (--local for wrangler dev)'

/** Whether a D1 error means the schema is missing or behind. */
export const isSchemaError = (error: unknown): boolean => /no such (table|column)/i.test((error as Error)?.message ?? '')

/** A storage error for a log line: what is wrong and how to fix it when it is the schema, else only the error's class. */
export const describeStorageError = (error: unknown): string =>
  isSchemaError(error) ? `D1 schema missing or out of date: run ${MIGRATE_COMMAND}` : ((error as Error)?.name ?? 'Error')

export interface SchemaReport {
  ok: boolean
  latest: string
  /** Migrations whose tables or columns are missing. */
  missing: string[]
  /** The newest migration D1 records as applied, when it keeps that record (wrangler does). */
  applied?: string
  fix?: string
}

export async function checkSchema(db: D1Database): Promise<SchemaReport> {
  const missing = new Set<string>()
  for (const probe of SCHEMA.probes) {
    try {
      await db.prepare(probe.sql).run()
    } catch (error) {
      if (!isSchemaError(error)) throw error
      missing.add(probe.migration)
    }
  }
  const applied = await db
    .prepare(`SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1`)
    .first<{ name: string }>()
    .catch(() => null)
  const ok = missing.size === 0
  return { ok, latest: SCHEMA.latest, missing: [...missing], ...(applied ? { applied: applied.name } : {}), ...(ok ? {} : { fix: `run ${MIGRATE_COMMAND}` }) }
}
