/**
 * Alerts to the operator (README "Notifications"): the 5-minute cron, run through the Worker's
 * `scheduled` handler at chosen times, tells `ALERTS = ["ops"]` (a Slack receiver of the
 * stand-in's) once per condition, at most once an hour, and says when it clears.
 * ALERT_FAILURES is 2 here (vitest.config.ts).
 */
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { newMessage } from '../src/delivery/enqueue'
import type { LeadMessage } from '../src/lead/message'
import { client, fetchWith, idOf, operatorApi, postJson, standin, unique, waitFor, waitForState } from './helpers'

beforeEach(() => standin.reset())

const MINUTE = 60_000

/** One run of the alerts' cron, as of `at`. */
async function cron(at: number) {
  const worker = (await import('../src/index')).default
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime: at }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** The ops channel's messages whose text contains `text`. */
const told = async (text: string) => (await client.sinks.received('ops')).map((r) => (JSON.parse(r.body) as { text: string }).text).filter((t) => t.includes(text))

const waitForTold = (text: string, n = 1) => waitFor(async () => ((await told(text)).length >= n ? told(text) : undefined), 15_000, `${n} alert(s) saying "${text}"`)

/** Long enough for an alert that was (wrongly) queued to reach the receiver. */
const settle = () => new Promise((r) => setTimeout(r, 3000))

describe('alerts', () => {
  it('tells ops once when failures cross the threshold, not again within the hour, and that it resolved once they stop', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400, times: 2 }])
    const ids = [await idOf(await postJson('/forms/contact', { email: unique('alert') })), await idOf(await postJson('/forms/contact', { email: unique('alert') }))]
    for (const id of ids) await waitForState(id, 'failed')

    const at = Date.now()
    await cron(at)
    const [first] = await waitForTold('Submissions are failing')
    expect(first).toContain('2 submissions failed in the last 15 minutes (the alert threshold, ALERT_FAILURES, is 2)')
    // Shown to the operator while it fires.
    const shown = (await (await operatorApi('/channels')).json()) as { alerts: { condition: string }[] }
    expect(shown.alerts.map((a) => a.condition)).toContain('failures')
    const glance = await (await operatorApi('/?part=glance', { headers: { accept: 'text/html' } })).text()
    expect(glance).toContain('Alert <strong>failures</strong> since')

    // Five and ten minutes later, still failing: told already within the hour.
    await cron(at + 5 * MINUTE)
    await cron(at + 10 * MINUTE)
    await settle()
    expect(await told('Submissions are failing')).toHaveLength(1)

    // Twenty minutes later, no failure in the last 15 minutes: resolved, once.
    await cron(at + 20 * MINUTE)
    await cron(at + 25 * MINUTE)
    const [resolved] = await waitForTold('Resolved: Submissions are failing')
    expect(resolved).toContain('It lasted about 20 minutes')
    await settle()
    expect(await told('Submissions are failing')).toHaveLength(2)
    expect(((await (await operatorApi('/channels')).json()) as { alerts: unknown[] }).alerts).toEqual([])
  })

  it('tells ops again, at most once an hour, while a condition lasts', async () => {
    // A submission whose message was lost: queued, with no news for over an hour.
    const id = await idOf(await postJson('/forms/contact', { email: unique('stuck') }))
    await waitForState(id, 'written')
    const at = Date.now()
    await env.DB.prepare(`UPDATE submissions SET state = 'queued', updated_at = ?2 WHERE id = ?1`).bind(id, at - 2 * 60 * MINUTE).run()
    await cron(at)
    const [first] = await waitForTold('Submissions are stuck')
    expect(first).toContain('no news for over an hour')
    // Still stuck 61 minutes later: told again, as "Still".
    await cron(at + 61 * MINUTE)
    const [still] = await waitForTold('Still: Submissions are stuck')
    expect(still).toBeTruthy()
    // Leaves no firing alert behind for the tests after it (D1 is shared by the file's tests).
    await env.DB.prepare(`DELETE FROM submissions WHERE id = ?1`).bind(id).run()
    await env.DB.prepare(`DELETE FROM alerts WHERE condition = 'stuck'`).run()
  })

  it('tells ops of a source whose secret is missing while deliveries arrive, naming the secret and not the delivery', async () => {
    const body = JSON.stringify({ id: 'evt_alert', type: 'customer.created', data: { object: { object: 'customer', id: 'cus_1', email: unique('nosecret') } } })
    const { res } = await fetchWith('/webhooks/stripe', { method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' } }, { STRIPE_WEBHOOK_SECRET: '' })
    expect(res.status).toBe(503)
    await cron(Date.now())
    const [alert] = await waitForTold('Deliveries arrive for a source whose secret is not set')
    expect(alert).toContain('STRIPE_WEBHOOK_SECRET')
    expect(alert).not.toContain('nosecret')
  })

  it('tells ops of a dead letter, and of a submission stuck for over an hour', async () => {
    const email = unique('stuck')
    const message = newMessage({ source: 'form', form: 'contact' }, { draft: { emails: [email], phones: [], websites: [], metadata: [], source: 'Website', status: 'New', merge: {}, country: 'US' } })
    const old = Date.now() - 2 * 60 * MINUTE
    await env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, state, attempts, payload) VALUES (?1, ?2, ?2, 'form', 'contact', 'retrying', 2, ?3)`)
      .bind(message.id, old, JSON.stringify(message.payload))
      .run()
    await cron(Date.now())
    const [stuck] = await waitForTold('Submissions are stuck')
    expect(stuck).toContain('1 submission has had no news for over an hour')

    // The queue gives up on it: failed (no longer stuck), and a dead letter.
    const batch = createMessageBatch<LeadMessage>('lead-intake-dead-letters', [{ id: 'dlq', timestamp: new Date(), attempts: 1, body: message }])
    const worker = (await import('../src/index')).default
    const ctx = createExecutionContext()
    await worker.queue(batch, env, ctx)
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['dlq'])
    await cron(Date.now() + MINUTE)
    const [dead] = await waitForTold('The queue gave up on submissions')
    expect(dead).toContain('1 submission reached the dead-letter queue')
    await waitForTold('Resolved: Submissions are stuck')
  })
})
