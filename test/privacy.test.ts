/**
 * Consent you can prove, erasure you can trust: consent captured per form and listed by
 * wording; erasure of a person's every copy (and, asked, their CRM records), with a tombstone
 * that drops anything of theirs received before it; export for subject-access requests.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { fetchWith, idOf, leadsWithEmail, operatorApi, standin, unique, waitForState } from './helpers'

beforeEach(() => standin.reset())

const WORDING = 'I agree to be contacted about my enquiry.'
const consentForm = (required: boolean) => ({
  consent: { field: 'consent', text: WORDING, version: '2026-11', required },
  rate_limit: false,
})

const post = (form: string, config: Record<string, unknown>, body: Record<string, unknown>) =>
  fetchWith(
    `/forms/${form}`,
    { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    { FORMS: { [form]: config } },
    { realQueue: true },
  )

const metadataOf = (lead: { metadata?: { slug?: string; value?: unknown }[] }) => Object.fromEntries((lead.metadata ?? []).map((m) => [m.slug, m.value]))

const sha256 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, '0')).join('')

describe('consent', () => {
  it('refuses a post without it when required (422 naming the field), and writes nothing', async () => {
    const { res } = await post('consented', consentForm(true), { email: unique('noconsent') })
    expect(res.status).toBe(422)
    const problem = (await res.json()) as { 'invalid-params': { name: string; reason: string }[] }
    expect(problem['invalid-params']).toEqual([{ name: 'consent', reason: 'must be checked to send this form' }])
  })

  it('records a given consent as custom fields and in the log, and lists the wording by version', async () => {
    const email = unique('consent')
    const id = await idOf((await post('consented', consentForm(true), { email, consent: 'on' })).res)
    await waitForState(id, 'written')
    const meta = metadataOf((await leadsWithEmail(email))[0]!)
    expect(meta).toMatchObject({ consent_version: '2026-11', consent_text_sha256: await sha256(WORDING) })
    expect(Date.parse(String(meta.consent_given_at))).toBeGreaterThan(Date.now() - 60_000)
    const row = await env.DB.prepare(`SELECT consent_version FROM submissions WHERE id = ?1`).bind(id).first()
    expect(row).toEqual({ consent_version: '2026-11' })
    const { consents } = (await (await operatorApi('/consents')).json()) as { consents: Record<string, unknown>[] }
    expect(consents).toContainEqual(expect.objectContaining({ source: 'form', form: 'consented', version: '2026-11', text: WORDING, text_sha256: await sha256(WORDING), submissions: 1 }))
  })

  it('records nothing about consent when optional and not given, or when the form asks for none', async () => {
    const optional = unique('optional')
    const none = unique('none')
    await waitForState(await idOf((await post('optional', consentForm(false), { email: optional })).res), 'written')
    await waitForState(await idOf((await post('plain', { rate_limit: false }, { email: none, consent: 'on' })).res), 'written')
    for (const email of [optional, none]) {
      expect(Object.keys(metadataOf((await leadsWithEmail(email))[0]!)).filter((k) => k.startsWith('consent'))).toEqual([])
    }
  })
})
