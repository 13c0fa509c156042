/**
 * The overview's rollup (migration 0015): counts per hour, source and state, per state, and the
 * receipt → CRM buckets, kept by triggers as submissions are received, written, failed, replayed,
 * erased and purged. Checked against counting the log itself after each of those, through HTTP and
 * the real queue.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { dayStart, overview, timingFromBuckets, TIMING_EDGES } from '../src/store/browse'
import { STUCK_AFTER_MS } from '../src/store/submissions'
import { fetchWith, idOf, operatorApi, postJson, standin, unique, waitForState } from './helpers'

/** The overview's numbers, and the same numbers counted from the log. */
async function both() {
  const now = Date.now()
  const o = await overview(env.DB, STUCK_AFTER_MS, now)
  const day = (
    await env.DB.prepare(`SELECT source, state, count(*) AS n FROM submissions WHERE received_at >= ?1 GROUP BY source, state`).bind(dayStart(now)).all<{
      source: string
      state: string
      n: number
    }>()
  ).results
  const states = (await env.DB.prepare(`SELECT state, count(*) AS n FROM submissions GROUP BY state`).all<{ state: string; n: number }>()).results
  const rolled = (await env.DB.prepare(`SELECT state, n FROM submission_states WHERE n > 0`).all<{ state: string; n: number }>()).results
  const warned = (await env.DB.prepare(`SELECT source, count(*) AS n FROM submissions WHERE warned IS NOT NULL AND received_at >= ?1 GROUP BY source`).bind(dayStart(now)).all()).results
  const sort = <T extends Record<string, unknown>>(rows: T[]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
  return { o, day: sort(day), rolledDay: sort(o.day), states: sort(states), rolledStates: sort(rolled), warned: sort(warned), rolledWarned: sort(o.warned) }
}

async function expectTrue() {
  const b = await both()
  expect(b.rolledDay).toEqual(b.day)
  expect(b.rolledStates).toEqual(b.states)
  expect(b.rolledWarned).toEqual(b.warned)
  const count = (state: string) => b.states.find((r) => r.state === state)?.n ?? 0
  expect(b.o.open).toEqual({ queued: count('queued'), retrying: count('retrying'), failed: count('failed'), held: count('held') })
  return b
}

describe('the overview rollup', () => {
  it('stays equal to the log through written, failed, replayed and erased submissions', async () => {
    const written = unique('rollup-written')
    const a = await idOf(await postJson('/forms/contact', { email: written, last_name: 'Rollup' }))
    await waitForState(a, 'written')
    await expectTrue()

    // A permanent refusal: failed, then replayed and written.
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const failing = unique('rollup-failed')
    const f = await idOf(await postJson('/forms/contact', { email: failing, last_name: 'Rollup' }))
    await waitForState(f, 'failed')
    await standin.faults([])
    const during = await expectTrue()
    expect(during.o.open.failed).toBeGreaterThanOrEqual(1)
    const replay = await fetchWith(`/operator/submissions/${f}/replay`, { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } }, {}, { realQueue: true })
    expect(replay.res.status).toBe(202)
    await waitForState(f, 'written')
    const after = await expectTrue()
    expect(after.o.open.failed).toBe(during.o.open.failed - 1)

    // An erasure deletes the person's rows: the counts follow.
    const erased = await operatorApi('/erasure', { method: 'POST', body: JSON.stringify({ email: written }), headers: { 'content-type': 'application/json' } })
    expect(erased.status).toBeLessThan(300)
    const gone = await expectTrue()
    expect(gone.day.reduce((n, r) => n + r.n, 0)).toBe(after.day.reduce((n, r) => n + r.n, 0) - 1)

    // Retention: rows past it are purged by the daily cron, and their hours with them.
    await env.DB.prepare(`UPDATE submissions SET received_at = received_at - 40 * 86400000 WHERE id = ?1`).bind(f).run()
    await expectTrue()
    const { createScheduledController, createExecutionContext, waitOnExecutionContext } = await import('cloudflare:test')
    const worker = (await import('../src/index')).default
    const ctx = createExecutionContext()
    await worker.scheduled!(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
    await expectTrue()
    const old = await env.DB.prepare(`SELECT count(*) AS n FROM submission_hours WHERE hour < ?1`).bind(Date.now() - 35 * 86400000).first<{ n: number }>()
    expect(old!.n).toBe(0)
  })

  it('times a large day from its buckets: each figure is the upper bound of the bucket its rank falls in', () => {
    // 10 at < 250 ms, 80 at 2–3 s, 10 at 10–15 s: the median is in the 2–3 s bucket, p95 in the 10–15 s one.
    const t = timingFromBuckets([
      { source: 'form', bucket: 0, n: 10 },
      { source: 'form', bucket: TIMING_EDGES.indexOf(3000), n: 80 },
      { source: 'typeform', bucket: TIMING_EDGES.indexOf(15000), n: 10 },
    ])
    expect(t.find((r) => r.source === '*')).toEqual({ source: '*', n: 100, median: 3000, p95: 15000 })
    expect(t.find((r) => r.source === 'form')).toEqual({ source: 'form', n: 90, median: 3000, p95: 3000 })
  })
})
