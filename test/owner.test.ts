/** Owner routing (README "Owner"): a created record's user_id by user_id, round robin or rules; never changed on an update. */
import { beforeEach, describe, expect, it } from 'vitest'
import { checkConfig } from '../src/startup'
import { client, fetchWith, idOf, leadsWithEmail, operatorApi, standin, unique, waitForDelivery } from './helpers'

beforeEach(() => standin.reset())

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

/** Posts to form `sales` configured with `config`, through the real queue; the submission id. */
async function post(config: Record<string, unknown>, body: Record<string, unknown>): Promise<string> {
  const { res } = await fetchWith('/forms/sales', json(body), { FORMS: { sales: { rate_limit: false, ...config } } }, { realQueue: true })
  expect(res.status).toBe(202)
  return idOf(res)
}

const journey = async (id: string) => (await (await operatorApi(`/submissions/${id}`)).json()) as { owner: { userId: string; by: string } | null; warnings: string[] }

describe('owner', () => {
  it('gives every new record the configured user_id, and the journey says so', async () => {
    const email = unique('fixed')
    const id = await post({ owner: { user_id: 'u1' } }, { email })
    await waitForDelivery([id])
    expect((await leadsWithEmail(email))[0]).toMatchObject({ user_id: 'u1' })
    expect((await journey(id)).owner).toEqual({ userId: 'u1', by: 'user_id' })
    const page = await (await operatorApi(`/journey/${id}`)).text()
    expect(page).toContain('<dt>Owner</dt><dd id="owner"><code>u1</code> (user_id)</dd>')
  })

  it('gives no owner where the CRM doesn’t write user_id on the object, and the submission says so', async () => {
    await client.connection('conn-test', { integration: 'minimal' })
    const email = unique('minimal')
    const id = await post({ owner: { user_id: 'u1' } }, { email })
    await waitForDelivery([id])
    expect((await leadsWithEmail(email))[0]!.user_id ?? null).toBeNull()
    const row = await journey(id)
    expect(row.owner).toBeNull()
    expect(row.warnings).toContain('lead owner: this CRM doesn’t write user_id on a lead, so u1 (user_id) was not set; the record has the CRM’s default owner')
  })

  it('shares a round robin fairly across 30 concurrent new people: 10 each for 3 owners', async () => {
    const owner = { round_robin: ['u1', 'u2', 'u3'] }
    const emails = Array.from({ length: 30 }, () => unique('rr'))
    const ids = await Promise.all(emails.map((email) => post({ owner }, { email })))
    await waitForDelivery(ids, 60_000)
    const leads = await standin.leads()
    expect(leads).toHaveLength(30)
    const per: Record<string, number> = {}
    for (const l of leads) per[String(l.user_id)] = (per[String(l.user_id)] ?? 0) + 1
    expect(per).toEqual({ u1: 10, u2: 10, u3: 10 })
    expect((await journey(ids[0]!)).owner?.by).toBe('round robin')
  }, 90_000)

  it('evaluates rules in order, with the plan’s own pick as the fallback', async () => {
    const config = {
      metadata: [{ field: 'company_size' }],
      owner: {
        user_id: 'u9',
        rules: [
          { field: 'country', equals: 'DE', user_id: 'u4' },
          { field: 'company_size', in: ['200+', '1000+'], round_robin: ['u5', 'u6'] },
        ],
      },
    }
    const [de, big, other] = [unique('de'), unique('big'), unique('other')]
    const ids = [
      await post(config, { email: de, country: 'Germany', company_size: '1000+' }),
      await post(config, { email: big, country: 'France', company_size: '1000+' }),
      await post(config, { email: other, country: 'FR', company_size: '1-10' }),
    ]
    await waitForDelivery(ids)
    expect((await leadsWithEmail(de))[0]!.user_id).toBe('u4')
    expect(['u5', 'u6']).toContain((await leadsWithEmail(big))[0]!.user_id)
    expect((await leadsWithEmail(other))[0]!.user_id).toBe('u9')
    expect((await journey(ids[0]!)).owner).toEqual({ userId: 'u4', by: 'rules[0]: country equals "DE"' })
    expect((await journey(ids[1]!)).owner?.by).toBe('rules[1]: company_size in ["200+","1000+"], round robin')
    expect((await journey(ids[2]!)).owner).toEqual({ userId: 'u9', by: 'fallback' })
  })

  it('leaves a known person’s owner alone: an update never sends user_id', async () => {
    const email = unique('known')
    const seeded = await standin.seed({ emails: [{ email }], first_name: 'Known', user_id: 'u-theirs' })
    const id = await post({ owner: { user_id: 'u1' } }, { email, last_name: 'Person' })
    await waitForDelivery([id])
    const [lead] = await leadsWithEmail(email)
    expect(lead).toMatchObject({ id: seeded.id, last_name: 'Person', user_id: 'u-theirs' })
    expect((await journey(id)).owner).toBeNull()
    // A person lead-intake created keeps the owner they got, whatever the plan says later.
    const mine = unique('mine')
    await waitForDelivery([await post({ owner: { user_id: 'u1' } }, { email: mine })])
    await waitForDelivery([await post({ owner: { user_id: 'u2' } }, { email: mine, first_name: 'Again' })])
    expect((await leadsWithEmail(mine))[0]).toMatchObject({ first_name: 'Again', user_id: 'u1' })
  })

  it('refuses a bad owner plan at start-up, naming the key', () => {
    const bad = (owner: unknown) => () => checkConfig({ FORMS: { sales: { owner } } })
    expect(bad({})).toThrow('FORMS.sales.owner: give user_id or round_robin')
    expect(bad({ user_id: 'u1', round_robin: ['u2'] })).toThrow('FORMS.sales.owner: give user_id or round_robin, not both')
    expect(bad({ rules: [{ field: 'country', equals: 'Atlantis', user_id: 'u1' }] })).toThrow('FORMS.sales.owner.rules.0.equals: "Atlantis" is not a country')
    expect(bad({ rules: [{ field: 'size', user_id: 'u1' }] })).toThrow('FORMS.sales.owner.rules.0: give equals or in')
    expect(bad({ rules: [{ field: 'country', in: ['Germany', 'UK'], round_robin: ['u1', 'u2'] }] })).not.toThrow()
  })
})

describe('check-connection', () => {
  it('names the owner ids it can’t check: Unified lists no CRM users', async () => {
    const res = await fetchWith('/operator/connection', { headers: { authorization: 'Bearer test-operator-token' } }, { FORMS: { sales: { owner: { round_robin: ['u1', 'u2'] } } } })
    const body = JSON.stringify(await res.res.json())
    expect(body).toContain('lead-intake can’t check that u1, u2 are users of this CRM (Unified lists no CRM users)')
  })
})
