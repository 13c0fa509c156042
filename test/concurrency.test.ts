/** One writer per person: concurrent submissions for one new email end as one lead. */
import { beforeEach, describe, expect, it } from 'vitest'
import { leadsWithEmail, postJson, standin, unique, waitForDelivery } from './helpers'

beforeEach(() => standin.reset())

const accept = async (body: Record<string, unknown>) => {
  const res = await postJson('/forms/contact', body)
  expect(res.status).toBe(202)
  return ((await res.json()) as { id: string }).id
}

describe('per-person serialization', () => {
  it('turns 20 simultaneous submissions for the same new email into exactly one lead', async () => {
    // A slow CRM search widens the window in which unserialized writers would all see "not found".
    await standin.faults([{ operations: ['lead.list'], latency_ms: 50 }])
    const email = unique('rush')
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => accept({ email, first_name: 'Rush', message: `attempt ${i}` })),
    )
    await waitForDelivery(ids, 45_000)
    expect(await leadsWithEmail(email)).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(1)
  })

  it('still writes different people, submitted together, as separate leads', async () => {
    const emails = Array.from({ length: 8 }, () => unique('crowd'))
    const ids = await Promise.all(emails.map((email) => accept({ email })))
    await waitForDelivery(ids, 45_000)
    for (const email of emails) expect(await leadsWithEmail(email)).toHaveLength(1)
    expect((await standin.counters())['lead.create']).toBe(8)
  })
})
