/**
 * Rate limits as CRMs send them, through HTTP and the real queue: Salesforce's 403
 * REQUEST_LIMIT_EXCEEDED and a 503 without Retry-After are waited out without spending
 * attempts or blaming the key; a 403 that is not a limit still fails with the key hint;
 * and a per-minute limit (Unified's workspace limit, a rolling 60 s) is learned and kept.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { isCrmOperation } from '../standin/client'
import { client, fetchWith, idOf, standin, submission, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

type Call = { op: string; status: number; at: number; connection: string }

const KEY_HINT = 'check UNIFIED_API_KEY'

/** Posts `n` distinct people to a form writing to `connection`, through the real queue. */
async function burst(connection: string, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const FORMS = { limits: { connection, rate_limit: false, timeline: false, ...extra } }
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const body = { email: `limit-${i}-${crypto.randomUUID().slice(0, 6)}@limits.test`, last_name: `Limit${i}` }
      const { res } = await fetchWith('/forms/limits', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }, { FORMS }, { realQueue: true })
      return idOf(res)
    }),
  )
}

/** Waits until every submission is written, keeping every error the log showed on the way. */
async function writtenAll(ids: string[], ms: number): Promise<{ attempts: number[]; errors: string[] }> {
  const errors = new Set<string>()
  const rows = await waitFor(
    async () => {
      const rows = await Promise.all(ids.map(submission))
      for (const row of rows) if (row?.last_error) errors.add(row.last_error)
      if (rows.some((r) => r?.state === 'failed')) throw new Error(`a submission failed: ${rows.find((r) => r?.state === 'failed')!.last_error}`)
      return rows.every((r) => r?.state === 'written') ? rows : undefined
    },
    ms,
    'every submission written',
  )
  return { attempts: rows.map((r) => r!.attempts), errors: [...errors] }
}

/** The connection's CRM calls (not Unified's own reads of the connection and its integration). */
const callsOf = async (connection: string) =>
  ((await client.calls()) as Call[]).filter((c) => c.connection === connection && isCrmOperation(c.op))

describe('rate limits as CRMs send them', () => {
  it("paces Salesforce's 403 REQUEST_LIMIT_EXCEEDED like a 429: every person written, no attempt spent, no key hint", async () => {
    const connection = `sf-${crypto.randomUUID().slice(0, 6)}`
    await client.connection(connection, { integration: 'salesforce', request_limit: { calls: 2, window_seconds: 2 } })
    const ids = await burst(connection, 3, { write: 'contact' })
    const { attempts, errors } = await writtenAll(ids, 60_000).catch(async (e) => {
      console.log(JSON.stringify(await callsOf(connection)), JSON.stringify(await Promise.all(ids.map(submission))))
      throw e
    })
    const calls = await callsOf(connection)
    // The allowance was really met, and waiting for it spent no attempt (DELIVERY_MAX_ATTEMPTS is 4 in the tests).
    expect(calls.filter((c) => c.status === 403).length).toBeGreaterThan(0)
    expect(Math.max(...attempts)).toBeLessThanOrEqual(1)
    expect(errors.filter((e) => e.includes(KEY_HINT))).toEqual([])
    expect(calls.filter((c) => c.op === 'contact.create' && c.status === 200)).toHaveLength(3)
  }, 90_000)

  it('a 403 that is not a limit holds the connection at once (not paced, no attempt spent), with the key hint', async () => {
    // A connection of its own: a held one waits for its probe (test/held.test.ts), and the others here write to conn-test.
    const connection = `forbidden-${crypto.randomUUID().slice(0, 6)}`
    await standin.faults([{ operations: ['lead.create'], status: 403, times: 1 }])
    const [id] = await burst(connection, 1)
    const row = await waitForState(id!, 'held', 30_000)
    expect(row.last_error).toContain(KEY_HINT)
    expect(row.attempts).toBe(0)
    expect((await callsOf(connection)).filter((c) => c.op === 'lead.create')).toHaveLength(1)
  }, 60_000)

  it('backs off a 503 without Retry-After: five in a row, still written, no attempt spent', async () => {
    // Were 503s failed attempts, five would run out DELIVERY_MAX_ATTEMPTS (4) and the lead would fail.
    await standin.faults([{ operations: ['lead.create'], status: 503, times: 5 }])
    const started = Date.now()
    const [id] = await burst('conn-test', 1)
    const { attempts, errors } = await writtenAll([id!], 90_000)
    expect(attempts[0]).toBeLessThanOrEqual(1)
    expect(errors.filter((e) => e.includes(KEY_HINT))).toEqual([])
    expect((await standin.counters())['lead.create']).toBe(6)
    // Backing off: the creates were spread out (1 + 2 + 4 + 8 s paused at least), not sent back to back.
    const creates = (await callsOf('conn-test')).filter((c) => c.op === 'lead.create' && c.at >= started)
    expect(creates.at(-1)!.at - creates[0]!.at).toBeGreaterThanOrEqual(15_000)
  }, 120_000)

  it("keeps to Unified's per-minute allowance once its 429 names it, even with no Retry-After: one refusal, not one a second", async () => {
    const connection = `minute-${crypto.randomUUID().slice(0, 6)}`
    // Unified's docs promise no Retry-After on its workspace limit: the 429's words are all the pace has.
    await client.connection(connection, { rate_limit: { calls_per_minute: 6, retry_after: false } })
    // 4 people, 8 calls: more than one minute's allowance, so the second minute must wait for the first to roll
    // (a write held back starts again with its search: the second minute takes the other 3 people's 6 calls).
    const ids = await burst(connection, 4)
    const { attempts } = await writtenAll(ids, 150_000)
    const calls = await callsOf(connection)
    const refused = calls.filter((c) => c.status === 429)
    expect(calls.filter((c) => c.op === 'lead.create' && c.status === 200)).toHaveLength(4)
    // The allowance was really met; past it the pace waited for the minute to roll instead of knocking every second.
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.length).toBeLessThanOrEqual(2)
    expect(Math.max(...attempts)).toBeLessThanOrEqual(1)
    expect((await env.CRM_GATE.get(env.CRM_GATE.idFromName(connection)).state()).perMinute).toBe(6)
  }, 180_000)
})
