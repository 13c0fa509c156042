/** Logs are structured and carry ids and outcomes, never personal data or secrets. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { operatorApi, postForm, postJson, request, standin, waitForState } from './helpers'

const captured: string[] = []

beforeEach(async () => {
  await standin.reset()
  captured.length = 0
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void captured.push(args.map(String).join(' ')))
  }
})
afterEach(() => vi.restoreAllMocks())

const person = {
  email: 'zebulon.quixotic@leaky-example.org',
  first_name: 'Zebulon',
  last_name: 'Quixotic',
  company: 'Xylophone Holdings',
  phone: '+44 7700 900123',
  message: 'call me on my private line',
}
const secrets = ['unified-secret-7f3a9c', 'test-operator-token', '1x0000000000000000000000000000000AA']
const personal = [...Object.values(person), 'zebulon', 'quixotic', '7700900123', '447700900123']

describe('log hygiene', () => {
  it('a full run (accept, retry, fail, replay, reject, spam, operator) logs no personal data or secrets', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 500, times: 1 }])
    const { company: _later, ...first } = person
    const ok = (await (await postJson('/forms/contact', first)).json()) as { id: string }
    await waitForState(ok.id, 'written')
    await standin.faults([{ operations: ['lead.update', 'lead.create'], status: 400 }])
    const bad = (await (await postJson('/forms/contact', person)).json()) as { id: string } // adds the company: an update
    await waitForState(bad.id, 'failed')
    await standin.faults([])
    await operatorApi(`/submissions/${bad.id}/replay`, { method: 'POST' })
    await waitForState(bad.id, 'written')
    await postJson('/forms/contact', { ...person, email: 'zebulon.quixotic@' }) // 422
    await postForm('/forms/contact', { ...person, _gotcha: 'bot' }) // spam
    await request('/operator/submissions', { headers: { authorization: 'Bearer test-operator-token-wrong' } })
    await request('/nowhere?email=zebulon.quixotic@leaky-example.org')

    const text = captured.join('\n')
    // The capture works: the consumer's and the request log's lines are there, as JSON with request ids.
    expect(text).toContain('"msg":"lead delivered"')
    expect(text).toContain('"msg":"lead failed"')
    const requestLines = captured.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(requestLines.length).toBeGreaterThanOrEqual(6)
    for (const line of requestLines) expect(line).toMatchObject({ requestId: expect.any(String), route: expect.any(String), status: expect.any(Number) })

    for (const value of [...personal, ...secrets]) expect(text.toLowerCase()).not.toContain(value.toLowerCase())
  })
})
