/**
 * Drain a burst at the CRM's pace: a permit before every Unified call, a rate that adapts to
 * the CRM's 429s (or is pinned), no call inside a Retry-After, and no attempt spent waiting.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { isCrmOperation } from '../standin/client'
import { client, fetchWith, idOf, standin, waitForDelivery, waitForState } from './helpers'

beforeEach(() => standin.reset())

type Call = { op: string; status: number; at: number; connection: string }

/** Posts `n` distinct people to a form writing to `connection`, through the real queue. */
async function burst(connection: string, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const FORMS = { paced: { connection, rate_limit: false, timeline: false, ...extra } }
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const { res } = await fetchWith(
        '/forms/paced',
        { method: 'POST', body: JSON.stringify({ email: `pace-${i}-${crypto.randomUUID().slice(0, 6)}@pacing.test` }), headers: { 'content-type': 'application/json' } },
        { FORMS },
        { realQueue: true },
      )
      return idOf(res)
    }),
  )
}

/** The connection's calls to the CRM (Unified's own daily read of the connection's integration is not one: it is not paced). */
const callsOf = async (connection: string) =>
  ((await client.calls()) as Call[]).filter((c) => c.connection === connection && isCrmOperation(c.op))

/** The most calls the stand-in served (not refused) in any 1-second window. */
const peak = (calls: Call[]) => {
  const served = calls.filter((c) => c.status !== 429).map((c) => c.at)
  return Math.max(0, ...served.map((t) => served.filter((u) => u >= t && u < t + 1000).length))
}

describe('pacing per connection', () => {
  it('adapts to a CRM that allows 4 calls a second: every person written, few 429s', async () => {
    const connection = `adaptive-${crypto.randomUUID().slice(0, 6)}`
    await client.connection(connection, { rate_limit: { calls_per_second: 4 } })
    const ids = await burst(connection, 16)
    await waitForDelivery(ids, 60_000)
    const calls = await callsOf(connection)
    const refused = calls.filter((c) => c.status === 429).length
    expect(calls.filter((c) => c.op === 'lead.create' && c.status === 200)).toHaveLength(16)
    // Learning the ceiling costs a few refusals; after that the pace holds (32 calls are needed).
    expect(refused).toBeLessThanOrEqual(6)
    // The ceiling is what the CRM took in the second before the call it refused: 4, not the 5 it was sent
    // (taken as the ceiling, 5 would meet a 429 a second); a lone refusal later may take it one lower.
    const state = await env.CRM_GATE.get(env.CRM_GATE.idFromName(connection)).state()
    expect(state.ceiling).toBeGreaterThanOrEqual(3)
    expect(state.ceiling).toBeLessThanOrEqual(4)
  })

  it('holds a pinned rate (UNIFIED_MAX_CALLS_PER_SECOND) with no 429 at all', async () => {
    // vitest.config.ts pins "conn-pinned=4"; the stand-in allows exactly 4.
    await client.connection('conn-pinned', { rate_limit: { calls_per_second: 4 } })
    const ids = await burst('conn-pinned', 12)
    await waitForDelivery(ids, 60_000)
    const calls = await callsOf('conn-pinned')
    expect(calls.filter((c) => c.status === 429)).toEqual([])
    expect(peak(calls)).toBeLessThanOrEqual(4)
    expect(calls.filter((c) => c.op === 'lead.create')).toHaveLength(12)
  })

  it('does not count waits for the rate limit as attempts: eight 429s in a row, still written', async () => {
    // DELIVERY_MAX_ATTEMPTS is 4 in the tests: were 429s attempts, this lead would fail.
    await standin.faults([{ operations: ['lead.create'], status: 429, retry_after: '1', times: 8 }])
    const [id] = await burst('conn-test', 1)
    const row = await waitForState(id!, 'written', 60_000)
    expect(row.attempts).toBeLessThanOrEqual(1)
    expect((await standin.counters())['lead.create']).toBe(9)
  })

  it('learns no ceiling from one 429 in a lull: the connection keeps its pace', async () => {
    const connection = `lull-${crypto.randomUUID().slice(0, 6)}`
    await standin.faults([{ operations: ['lead.list'], status: 429, retry_after: '1', times: 1 }])
    const ids = await burst(connection, 2)
    await waitForDelivery(ids, 30_000)
    // One call in its second, refused: a fault or another limit, not the CRM's calls a second (taken as one, the
    // connection would limp at a call or two a second until slowly probing back up).
    const state = await env.CRM_GATE.get(env.CRM_GATE.idFromName(connection)).state()
    expect(state.ceiling).toBeUndefined()
    expect(state.rate).toBeGreaterThanOrEqual(5)
  })

  it("takes a batch's 503s, sent together, as one busy moment: a short pause, not one doubled per call", async () => {
    const connection = `busy-${crypto.randomUUID().slice(0, 6)}`
    // Ten refusals: counted one by one, the pause would double to 16 s for the first five and 300 s for the rest.
    await standin.faults([{ operations: ['lead.list'], status: 503, times: 10 }])
    const ids = await burst(connection, 10)
    await waitForDelivery(ids, 40_000)
    const calls = await callsOf(connection)
    expect(calls.filter((c) => c.status === 503)).toHaveLength(10)
    expect(calls.filter((c) => c.op === 'lead.create' && c.status === 200)).toHaveLength(10)
  }, 60_000)

  it('never calls inside a Retry-After, for any writer of the connection', async () => {
    await standin.faults([{ operations: ['lead.list'], status: 429, retry_after: '2', times: 1 }])
    const ids = await burst('conn-test', 5)
    await waitForDelivery(ids, 60_000)
    const calls = await callsOf('conn-test')
    const limited = calls.find((c) => c.status === 429)!
    const during = calls.filter((c) => c.at > limited.at && c.at < limited.at + 1900)
    expect(during).toEqual([])
  })
})
