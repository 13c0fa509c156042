/** POST /webhooks/stripe: Stripe's signature scheme, lead-producing events, idempotency, merge into an existing lead. */
import Stripe from 'stripe'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { CLAIM_TTL_MS, claimDelivery, DELIVERY_ID_RETENTION_MS, finishDelivery, purgeDeliveryIds } from '../src/store/delivery-ids'
import checkoutCompleted from './fixtures/stripe/checkout.session.completed.json'
import checkoutPaymentMode from './fixtures/stripe/checkout.session.completed.payment_mode.json'
import sessionObject from './fixtures/stripe/checkout.session.object.json'
import customerCreated from './fixtures/stripe/customer.created.json'
import customerObject from './fixtures/stripe/customer.object.json'
import customerUpdated from './fixtures/stripe/customer.updated.json'
import envelope from './fixtures/stripe/event.envelope.json'
import invoicePaid from './fixtures/stripe/invoice.paid.json'
import paymentIntentSucceeded from './fixtures/stripe/payment_intent.succeeded.json'
import { fetchWith, leadsWithEmail, postJson, request, standin, waitForDelivery, webhookInit, type WireLead } from './helpers'

beforeEach(() => standin.reset())

/** The two secrets in vitest.config.ts: a retired one and the current one, as during a rotation. */
const SECRET = 'whsec_test_current_9b2f'
const RETIRED = 'whsec_test_retired_4e7a'

const now = () => Math.floor(Date.now() / 1000)

/**
 * Signed with Stripe's own library. Inside workerd it uses Web Crypto, which is
 * async only: the sync generateTestHeaderString throws there, so the Async one is used.
 */
const sign = (payload: string, { secret = SECRET, timestamp = now(), scheme = 'v1' } = {}) =>
  Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp, scheme })

/** A copy of a fixture event with an id of its own, so tests do not see each other's ids. */
const fresh = (event: { id: string }, changes: Record<string, unknown> = {}): string =>
  JSON.stringify({ ...event, ...changes, id: `${event.id}_${crypto.randomUUID().slice(0, 8)}` })

/** An event of `type` around `object`, in the current API's envelope. */
const wrap = (type: string, object: unknown) => fresh(envelope, { type, data: { object } })

// As Stripe sends it, with a charset; the recording variant below sends none: both verify.
const post = (body: string, signature?: string) =>
  request('/webhooks/stripe', webhookInit('stripe-signature', body, signature, 'application/json; charset=utf-8'))

/** The Worker with `overrides` on its env; the queue records what is sent unless LEADS is overridden. */
const postWith = (body: string, signature: string | undefined, overrides: Record<string, unknown> = {}) =>
  fetchWith('/webhooks/stripe', webhookInit('stripe-signature', body, signature), overrides)

const accepted = async (res: Response): Promise<string> => {
  expect(res.status).toBe(200)
  const body = (await res.json()) as { id: string; status: string }
  expect(body.status).toBe('accepted')
  return body.id
}

const metadataOf = (lead: WireLead) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))

const settle = () => new Promise((r) => setTimeout(r, 1500))

describe('signature', () => {
  it('accepts what Stripe signs, and agrees with Stripe’s own verifier', async () => {
    const body = fresh(checkoutCompleted)
    const header = await sign(body)
    await expect(Stripe.webhooks.constructEventAsync(body, header, SECRET)).resolves.toBeTruthy()
    await waitForDelivery([await accepted(await post(body, header))])
  })

  it.each([
    ['a wrong secret', 401, async (body: string) => ({ body, header: await sign(body, { secret: 'whsec_not_ours' }) })],
    ['a tampered body', 401, async (body: string) => ({ body: body.replace('stripe@example.com', 'mallory@example.com'), header: await sign(body) })],
    ['a stale timestamp (301 s)', 401, async (body: string) => ({ body, header: await sign(body, { timestamp: now() - 301 }) })],
    ['a missing header', 401, async (body: string) => ({ body, header: undefined })],
    ['only a v0 signature (test mode’s fake)', 400, async (body: string) => ({ body, header: await sign(body, { scheme: 'v0' }) })],
    ['a header without t=', 400, async (body: string) => ({ body, header: (await sign(body)).replace(/^t=\d+,/, '') })],
  ])('refuses %s (%i) and queues nothing', async (_name, status, forge) => {
    const { body, header } = await forge(fresh(checkoutCompleted))
    const { res, sent } = await postWith(body, header)
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(sent).toEqual([])
    // Stripe's library refuses the same deliveries.
    if (header) await expect(Stripe.webhooks.constructEventAsync(body, header, SECRET)).rejects.toThrow()
  })

  it('accepts any matching v1 and either secret of a rotation', async () => {
    const body = fresh(checkoutCompleted)
    const retired = await sign(body, { secret: RETIRED })
    const bogus = `v1=${'0'.repeat(64)}`
    const { res, sent } = await postWith(body, `${retired},${bogus},v0=${'1'.repeat(64)}`)
    expect(res.status).toBe(200)
    expect(sent).toHaveLength(1)
  })

  it('takes its tolerance window from STRIPE.tolerance_seconds', async () => {
    const body = fresh(checkoutCompleted)
    const header = await sign(body, { timestamp: now() - 1200 })
    expect((await postWith(body, header)).res.status).toBe(401)
    const { res, sent } = await postWith(body, header, { STRIPE: { tolerance_seconds: 3600 } })
    expect(res.status).toBe(200)
    expect(sent).toHaveLength(1)
  })

  it('refuses everything, and says why, when no secret is set (fail closed)', async () => {
    const body = fresh(checkoutCompleted)
    const { res, sent } = await postWith(body, await sign(body), { STRIPE_WEBHOOK_SECRET: ' ' })
    expect(res.status).toBe(503) // Stripe retries for 3 days: nothing is lost while the secret is set
    expect(((await res.json()) as { detail: string }).detail).toContain('STRIPE_WEBHOOK_SECRET')
    expect(sent).toEqual([])
  })
})

describe('events', () => {
  it('turns a completed Checkout Session (2020 CLI shape) into a lead with the Stripe ids', async () => {
    const body = JSON.stringify(checkoutCompleted) // the fixture's own id, once in this file
    await waitForDelivery([await accepted(await post(body, await sign(body)))])
    const [lead, ...others] = await leadsWithEmail('stripe@example.com')
    expect(others).toEqual([])
    expect(lead).toMatchObject({ source: 'Stripe', status: 'Customer' })
    expect(metadataOf(lead!)).toEqual({
      stripe_checkout_session_id: checkoutCompleted.data.object.id,
      stripe_customer_id: 'cus_00000000000000',
    })
  })

  it('reads a session without api_version (payment mode fixture)', async () => {
    const body = fresh(checkoutPaymentMode)
    await waitForDelivery([await accepted(await post(body, await sign(body)))])
    expect(await leadsWithEmail('example@example.com')).toHaveLength(1)
  })

  it('maps the current API’s customer_details: individual and business name, phone, address', async () => {
    const session = {
      ...sessionObject,
      customer: 'cus_QXg1o8vcGmoR32',
      customer_details: {
        ...sessionObject.customer_details,
        name: 'Analytical Engines Ltd', // Stripe's `name` is the business's when one was collected
        business_name: 'Analytical Engines Ltd',
        individual_name: 'Ada King Lovelace',
        phone: '+44 20 7946 0000',
        address: { ...sessionObject.customer_details.address, line1: '12 St James’s Square', city: 'London', postal_code: 'SW1Y 4JH', country: 'GB' },
      },
    }
    const body = wrap('checkout.session.completed', session)
    await waitForDelivery([await accepted(await post(body, await sign(body)))])
    const [lead] = await leadsWithEmail('example@example.com')
    expect(lead).toMatchObject({
      first_name: 'Ada',
      last_name: 'King Lovelace',
      company_name: 'Analytical Engines Ltd',
      telephones: [{ telephone: '+442079460000', type: 'WORK' }],
    })
    expect(metadataOf(lead!)).toEqual({
      stripe_checkout_session_id: sessionObject.id,
      stripe_customer_id: 'cus_QXg1o8vcGmoR32',
      address: '12 St James’s Square, SW1Y 4JH London, GB',
    })
  })

  it('turns customer.created into a lead, with the customer’s metadata as custom fields', async () => {
    const customer = { ...customerObject, email: 'Hedy@Example.com', name: 'Hedy Lamarr', phone: '+1 555 010 4477', metadata: { plan: 'pro', empty: '' } }
    const body = wrap('customer.created', customer)
    await waitForDelivery([await accepted(await post(body, await sign(body)))])
    const [lead] = await leadsWithEmail('hedy@example.com')
    expect(lead).toMatchObject({ first_name: 'Hedy', last_name: 'Lamarr', source: 'Stripe' })
    expect(metadataOf(lead!)).toEqual({ stripe_customer_id: customerObject.id, plan: 'pro' })
  })

  it.each([
    // Neither email nor phone (the CLI fixtures):
    ['customer.created', customerCreated, 'no-contact'],
    ['customer.updated', customerUpdated, 'no-contact'],
    // Not a lead event:
    ['invoice.paid', invoicePaid, 'event-type'],
    ['payment_intent.succeeded', paymentIntentSucceeded, 'event-type'],
  ])('acknowledges %s with 200, ignored, and writes nothing', async (_type, event, reason) => {
    const body = fresh(event)
    const { res, sent } = await postWith(body, await sign(body))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ignored', reason })
    expect(sent).toEqual([])
  })

  it('only listens to the events STRIPE.events names', async () => {
    const body = fresh(checkoutCompleted)
    const { res, sent } = await postWith(body, await sign(body), { STRIPE: { events: ['customer.created'] } })
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'event-type' })
    expect(sent).toEqual([])
  })
})

describe('idempotency and merge', () => {
  it('writes a redelivered event once: the second is acknowledged with no Unified call', async () => {
    const body = fresh(checkoutCompleted)
    const id = await accepted(await post(body, await sign(body)))
    await waitForDelivery([id])
    const after = await standin.counters()
    expect(after['lead.create']).toBe(1)

    const again = await post(body, await sign(body)) // Stripe signs each attempt afresh
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ id, status: 'duplicate' })
    await settle()
    expect(await standin.counters()).toEqual(after)
    expect(await leadsWithEmail('stripe@example.com')).toHaveLength(1)
  })

  it('updates the lead a website form already created for the paying customer, never a second one', async () => {
    const form = await postJson('/forms/contact', { email: 'Stripe@Example.com', first_name: 'Ada', company: 'Engines Ltd' })
    expect(form.status).toBe(202)
    await waitForDelivery([((await form.json()) as { id: string }).id])
    const [before] = await leadsWithEmail('stripe@example.com')

    const body = fresh(checkoutCompleted)
    await waitForDelivery([await accepted(await post(body, await sign(body)))])
    const leads = await leadsWithEmail('stripe@example.com')
    expect(leads).toHaveLength(1)
    expect(leads[0]).toMatchObject({ id: before!.id, first_name: 'Ada', company_name: 'Engines Ltd', source: 'Website' })
    expect(metadataOf(leads[0]!)).toMatchObject({ stripe_customer_id: 'cus_00000000000000' })
    expect((await standin.counters())['lead.update']).toBe(1)
  })
})

describe('delivery ids (D1)', () => {
  it('answers a redelivery that arrives while the first is still being queued with 503, not a premature 200', async () => {
    const body = fresh(checkoutCompleted)
    await claimDelivery(env.DB, 'stripe', (JSON.parse(body) as { id: string }).id) // the first delivery, mid-flight
    const { res, sent } = await postWith(body, await sign(body))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBeTruthy()
    expect(sent).toEqual([])
  })

  it('lets an unfinished claim expire, keeps finished ids past Stripe’s 3 days of retries, and purges them later', async () => {
    const t = Date.now() - 400 * 86_400_000 // older than every other row in this file's D1
    const [lost, done] = [`evt_lost_${t}`, `evt_done_${t}`]
    expect(await claimDelivery(env.DB, 'stripe', lost, t)).toEqual({ state: 'claimed' })
    expect(await claimDelivery(env.DB, 'stripe', lost, t + 1000)).toEqual({ state: 'in-flight' })
    // The Worker died before queueing: after the TTL, the provider's retry takes the claim over.
    expect(await claimDelivery(env.DB, 'stripe', lost, t + CLAIM_TTL_MS + 1)).toEqual({ state: 'claimed' })

    await claimDelivery(env.DB, 'stripe', done, t)
    await finishDelivery(env.DB, 'stripe', done, 'submission-1')
    expect(await claimDelivery(env.DB, 'stripe', done, t + 3 * 86_400_000)).toEqual({ state: 'done', submission: 'submission-1' })
    expect(DELIVERY_ID_RETENTION_MS).toBeGreaterThanOrEqual(7 * 86_400_000)
    expect(await purgeDeliveryIds(env.DB, t + DELIVERY_ID_RETENTION_MS)).toBe(0)
    expect(await purgeDeliveryIds(env.DB, t + CLAIM_TTL_MS + 2 + DELIVERY_ID_RETENTION_MS)).toBe(2)
    expect(await claimDelivery(env.DB, 'stripe', done, t + CLAIM_TTL_MS + 2 + DELIVERY_ID_RETENTION_MS)).toEqual({ state: 'claimed' })
  })
})
