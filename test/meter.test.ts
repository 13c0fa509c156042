/**
 * The cost bench's meter (src/meter.ts): what a submission costs on Cloudflare's meters, counted
 * through the real bindings only when METER_OPERATIONS = "true", and absent otherwise.
 */
import { describe, expect, it } from 'vitest'
import { fetchWith, OPERATOR_TOKEN, operatorApi } from './helpers'

const METERED = { METER_OPERATIONS: 'true' }
const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` }
const readMeter = async () => {
  const { res } = await fetchWith('/operator/meter?reset=1', { headers: auth }, METERED)
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, number>
}

describe('the operation meter', () => {
  it('is not there unless METER_OPERATIONS is "true"', async () => {
    const res = await operatorApi('/meter')
    expect(res.status).toBe(404)
  })

  it('counts the invocation, the D1 queries with their rows and the queue write of a form post', async () => {
    await readMeter()
    const body = JSON.stringify({ email: `meter-${crypto.randomUUID()}@example.org`, last_name: 'Meter' })
    const { res } = await fetchWith('/forms/contact', { method: 'POST', body, headers: { 'content-type': 'application/json' } }, METERED, { realQueue: true })
    expect(res.status).toBe(202)
    const m = await readMeter()
    // The post and the read of the meter itself.
    expect(m.invocations).toBe(2)
    // The submission row (with its identifier keys) is written before the 202, and the message queued.
    expect(m.d1Queries).toBeGreaterThanOrEqual(1)
    expect(m.d1RowsWritten).toBeGreaterThanOrEqual(1)
    expect(m.queueOperations).toBe(1)
    // Counted since the reset only.
    const again = await readMeter()
    expect(again.invocations).toBe(1)
    expect(again.d1Queries).toBe(0)
  })
})
