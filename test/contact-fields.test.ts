/**
 * `title` and `department` (issue 23 item 4), through HTTP: from a form's fields (by name or by
 * its `fields` table) and from a preset's `fields`, onto a contact's own columns, and onto a
 * lead as the custom fields of their names (Unified's lead has neither column).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import swVectors from './fixtures/standard-webhooks/spec-vectors.json'
import { b64, client, fetchWith, hmac, idOf, leadsWithEmail, postJson, standin, unique, waitForDelivery } from './helpers'

beforeEach(() => standin.reset())

const contactsWith = async (email: string) => (await client.records('conn-test', 'contact')).filter((c) => c.emails?.some((e) => e.email === email))
const metaOf = (r: { metadata?: { slug?: string; value?: unknown }[] } | undefined) => Object.fromEntries((r?.metadata ?? []).map((m) => [m.slug, m.value]))
const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

describe('title and department from a form', () => {
  it('go onto a lead as the custom fields title and department', async () => {
    const email = unique()
    await waitForDelivery([await idOf(await postJson('/forms/contact', { email, title: 'CTO', department: 'Engineering' }))])
    const [lead] = await leadsWithEmail(email)
    expect(metaOf(lead)).toMatchObject({ title: 'CTO', department: 'Engineering' })
  })

  it("go onto a contact's own title and department, mapped from the form's field names", async () => {
    const email = unique()
    const FORMS = { people: { write: 'contact', fields: { role: 'title', team: 'department' } } }
    const { res } = await fetchWith('/forms/people', json({ email, role: 'Head of Sales', team: 'Sales' }), { FORMS }, { realQueue: true })
    await waitForDelivery([await idOf(res)])
    const [contact] = await contactsWith(email)
    expect(contact).toMatchObject({ title: 'Head of Sales', department: 'Sales' })
    expect(metaOf(contact)).not.toHaveProperty('department')
  })

  it('fill an empty department of an existing contact, and keep one it has (fill_if_empty)', async () => {
    const FORMS = { people: { write: 'contact' } }
    const a = unique()
    const b = unique()
    await client.seed('conn-test', 'contact', { emails: [{ email: a }], department: 'Finance' })
    await client.seed('conn-test', 'contact', { emails: [{ email: b }] })
    const ids = await Promise.all(
      [a, b].map(async (email) => idOf((await fetchWith('/forms/people', json({ email, department: 'Marketing' }), { FORMS }, { realQueue: true })).res)),
    )
    await waitForDelivery(ids)
    expect((await contactsWith(a))[0]).toMatchObject({ department: 'Finance' })
    expect((await contactsWith(b))[0]).toMatchObject({ department: 'Marketing' })
  })
})

describe('title and department from a preset', () => {
  it("come from the endpoint's fields (JSON Pointers) like the other lead fields", async () => {
    const secret = swVectors.vectors[0]!.secret
    const WEBHOOKS = {
      signup: {
        preset: 'standard-webhooks',
        event_types: ['user.created'],
        write: 'contact',
        fields: { email: '/data/email', title: '/data/job/title', department: '/data/job/department' },
      },
    }
    const email = unique()
    const body = JSON.stringify({ type: 'user.created', data: { email, job: { title: 'Analyst', department: 'Research' } } })
    const id = `msg_${crypto.randomUUID().slice(0, 8)}`
    const timestamp = String(Math.floor(Date.now() / 1000))
    const key = Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0))
    const signature = `v1,${b64(await hmac(key, `${id}.${timestamp}.${body}`))}`
    const { res } = await fetchWith(
      '/webhooks/signup',
      { method: 'POST', body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } },
      { WEBHOOKS, WEBHOOK_SECRET_SIGNUP: secret },
      { realQueue: true },
    )
    await waitForDelivery([await idOf(res)])
    expect((await contactsWith(email))[0]).toMatchObject({ title: 'Analyst', department: 'Research' })
  })
})
