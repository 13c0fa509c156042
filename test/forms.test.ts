import { beforeEach, describe, expect, it } from 'vitest'
import { leadsWithEmail, postForm, postJson, request, standin, unique, waitForDelivery } from './helpers'

beforeEach(() => standin.reset())

describe('POST /forms/:formId', () => {
  it('accepts JSON with 202 and writes the lead', async () => {
    const email = unique()
    const res = await postJson('/forms/contact', { email, first_name: 'Ada', last_name: 'Lovelace', company: 'Engines Ltd' })
    expect(res.status).toBe(202)
    const body = (await res.json()) as { id: string; status: string }
    expect(body.status).toBe('accepted')
    await waitForDelivery([body.id])
    const [lead, ...more] = await leadsWithEmail(email)
    expect(more).toHaveLength(0)
    expect(lead).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', company_name: 'Engines Ltd', source: 'Website', status: 'New' })
  })
})
