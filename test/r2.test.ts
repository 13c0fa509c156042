/**
 * Payloads and files in R2 (README "Where things are kept", "Files"): a submission's payload
 * is an R2 object keyed by its id, read by replay and export, deleted once written, by erasure
 * and by retention; a row from before keeps its D1 payload and still replays. A form's file is
 * checked (413/415 before anything is queued), kept in R2 and linked on the CRM note as a signed
 * link that serves it as a download, refuses a tampered or expired signature, and is gone after erasure.
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../src/index'
import { newMessage } from '../src/delivery/enqueue'
import type { LeadMessage } from '../src/lead/message'
import docsExample from './fixtures/typeform/form_response.docs-example.json'
import { client, fetchWith, idOf, leadsWithEmail, noteAnswers, operatorApi, request, signTypeform, standin, unique, waitFor, waitForState, webhookInit } from './helpers'

beforeEach(() => standin.reset())

const FORM = { rate_limit: false, files: { field: 'attachment', max_bytes: 4096, types: ['application/pdf', 'image/*'] } }
const PDF = new TextEncoder().encode('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

/** A multipart post of `fields` and, as `attachment`, `file`; `overrides.LEADS` absent: the real queue. */
const upload = (fields: Record<string, string>, file?: File, { realQueue = true, form = FORM } = {}) => {
  const body = new FormData()
  for (const [name, value] of Object.entries(fields)) body.set(name, value)
  if (file) body.set('attachment', file)
  return fetchWith('/forms/upload', { method: 'POST', body, headers: { accept: 'application/json' } }, { FORMS: { upload: form } }, { realQueue })
}

const object = async (key: string) => {
  const o = await env.BUCKET.get(key)
  return o ? await o.text() : null
}

const payloadRow = (id: string) =>
  env.DB.prepare(`SELECT payload, payload_key FROM submissions WHERE id = ?1`).bind(id).first<{ payload: string | null; payload_key: string | null }>()

const erase = (email: string) => operatorApi('/erasure', { method: 'POST', body: JSON.stringify({ email }), headers: { 'content-type': 'application/json' } })

const cron = async () => {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
  await waitOnExecutionContext(ctx)
}

describe('payloads in R2', () => {
  it('keeps a failed lead’s payload in R2 (not in its row), replays it from there, and deletes it once written', async () => {
    const email = unique('r2-replay')
    await standin.faults([{ operations: ['lead.create'], status: 400, times: 1 }])
    const id = await idOf((await fetchWith('/forms/demo', json({ email, note: 'kept in R2' }), { FORMS: { demo: { rate_limit: false } } }, { realQueue: true })).res)
    await waitForState(id, 'failed')
    expect(await payloadRow(id)).toEqual({ payload: null, payload_key: `payloads/${id}` })
    expect(await object(`payloads/${id}`)).toContain(email)
    const replayed = await fetchWith(`/operator/submissions/${id}/replay`, { method: 'POST', headers: { authorization: 'Bearer test-operator-token' } }, { FORMS: { demo: { rate_limit: false } } }, { realQueue: true })
    expect(replayed.res.status).toBe(202)
    await waitForState(id, 'written')
    expect(await leadsWithEmail(email)).toHaveLength(1)
    await waitFor(async () => (await object(`payloads/${id}`)) === null, 5_000, 'the written payload to be deleted')
    expect(await payloadRow(id)).toEqual({ payload: null, payload_key: null })
  })

  it('keeps a lead in flight in its own D1 row, with no R2 put for it: one write after the answer, cleared once written', async () => {
    const email = unique('inflight')
    const { res, sent } = await fetchWith('/forms/contact', { method: 'POST', body: JSON.stringify({ email, last_name: 'Flight' }), headers: { 'content-type': 'application/json' } })
    const id = await idOf(res)
    expect(sent).toHaveLength(1)
    const row = await payloadRow(id)
    expect(row?.payload_key).toBeNull()
    expect(row?.payload).toContain(email)
    expect(await object(`payloads/${id}`)).toBeNull()
  })

  it('queues a lead too large for a queue message by reference, its payload in R2 and none in D1', async () => {
    const body = structuredClone(docsExample) as typeof docsExample & { form_response: { answers: unknown[]; definition: { fields: unknown[] } } }
    body.event_id = `r2-big-${crypto.randomUUID().slice(0, 8)}`
    for (let i = 0; i < 12; i++) {
      body.form_response.definition.fields.push({ id: `long${i}`, ref: `essay_${i}`, type: 'long_text', title: `Essay ${i}` })
      body.form_response.answers.push({ type: 'text', text: `${i}`.repeat(9_000), field: { id: `long${i}`, type: 'long_text' } })
    }
    const text = JSON.stringify(body)
    const { res, sent } = await fetchWith('/webhooks/typeform', webhookInit('typeform-signature', text, await signTypeform(text)))
    const id = await idOf(res)
    expect(sent).toHaveLength(1)
    expect((sent[0] as LeadMessage).payload).toBeUndefined()
    expect((await object(`payloads/${id}`))!.length).toBeGreaterThan(100_000)
    expect(await payloadRow(id)).toEqual({ payload: null, payload_key: `payloads/${id}` })
  })

  it('still replays a row from before R2 (payload in D1), and the daily cron moves such a payload to R2', async () => {
    const rowOf = async (email: string) => {
      const message = newMessage({ source: 'form', form: 'contact' }, {
        draft: { emails: [email], phones: [], websites: [], metadata: [], source: 'Website', status: 'New', merge: {}, country: 'US' },
      })
      // Failed two days ago, before R2: the cron leaves a lead in flight alone, not one a day without news.
      await env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, state, attempts, payload) VALUES (?1, ?2, ?2, 'form', 'contact', 'failed', 1, ?3)`)
        .bind(message.id, Date.now() - 2 * 86_400_000, JSON.stringify(message.payload))
        .run()
      return message.id
    }
    const [replayedEmail, movedEmail] = [unique('legacy'), unique('moved')]
    const [replayed, moved] = [await rowOf(replayedEmail), await rowOf(movedEmail)]
    expect((await operatorApi(`/submissions/${replayed}/replay`, { method: 'POST' })).status).toBe(202)
    await waitForState(replayed, 'written')
    expect(await leadsWithEmail(replayedEmail)).toHaveLength(1)

    await cron()
    expect(await payloadRow(moved)).toEqual({ payload: null, payload_key: `payloads/${moved}` })
    expect(await object(`payloads/${moved}`)).toContain(movedEmail)
    expect((await operatorApi(`/submissions/${moved}/replay`, { method: 'POST' })).status).toBe(202)
    await waitForState(moved, 'written')
    expect(await leadsWithEmail(movedEmail)).toHaveLength(1)
  })

  it('exports the payload R2 holds for a person’s failed submission, and erasure deletes it', async () => {
    const email = unique('r2-export')
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const id = await idOf((await fetchWith('/forms/demo', json({ email, note: 'export me' }), { FORMS: { demo: { rate_limit: false } } }, { realQueue: true })).res)
    await waitForState(id, 'failed')
    const body = (await (await operatorApi(`/people?email=${encodeURIComponent(email)}`)).json()) as { submissions: { id: string; payload: { input: { fields: [string, string[]][] } } | null }[] }
    expect(body.submissions).toHaveLength(1)
    expect(body.submissions[0]!.payload!.input.fields).toContainEqual(['note', ['export me']])
    expect((await erase(email)).status).toBe(200)
    expect(await object(`payloads/${id}`)).toBeNull()
  })

  it('purges the payloads and files of submissions past retention on the daily cron, and keeps the others', async () => {
    const row = env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, state, payload_key) VALUES (?1, ?2, ?2, 'form', 'upload', 'failed', ?3)`)
    const [old, recent] = [`old-${crypto.randomUUID()}`, `new-${crypto.randomUUID()}`]
    await env.DB.batch([row.bind(old, Date.now() - 31 * 86_400_000, `payloads/${old}`), row.bind(recent, Date.now() - 86_400_000, `payloads/${recent}`)])
    for (const id of [old, recent]) {
      await env.BUCKET.put(`payloads/${id}`, JSON.stringify({ draft: {} }))
      await env.BUCKET.put(`files/${id}`, PDF)
    }
    await cron()
    expect(await object(`payloads/${old}`)).toBeNull()
    expect(await object(`files/${old}`)).toBeNull()
    expect((await operatorApi(`/submissions/${old}`)).status).toBe(404)
    expect(await object(`payloads/${recent}`)).not.toBeNull()
    expect(await object(`files/${recent}`)).not.toBeNull()
  })
})

describe('files on forms', () => {
  /** The link on the submission's note in the (stand-in) CRM. */
  const linkOnNote = async (id: string): Promise<string> => {
    const event = await waitFor(async () => (await client.records('conn-test', 'event')).find((e) => noteAnswers(e)['lead-intake submission'] === id), 10_000, 'the note')
    return noteAnswers(event).attachment!
  }
  const open = (link: string) => {
    const url = new URL(link)
    return request(url.pathname + url.search)
  }

  it('keeps the file in R2 before the 202 and links it on the note; the link serves its bytes as a download', async () => {
    const email = unique('file')
    const { res } = await upload({ email, message: 'my CV' }, new File([PDF], 'Ada CV (final).pdf', { type: 'application/pdf' }))
    const id = await idOf(res)
    expect(await object(`files/${id}`)).not.toBeNull()
    await waitForState(id, 'written')
    const link = await linkOnNote(id)
    expect(link).toMatch(new RegExp(`^https://intake\\.example/files/${id}\\?exp=\\d+&sig=[A-Za-z0-9_-]{43}$`))
    const served = await open(link)
    expect(served.status).toBe(200)
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PDF)
    expect(served.headers.get('content-type')).toBe('application/pdf')
    expect(served.headers.get('content-disposition')).toBe('attachment; filename="Ada_CV_final_.pdf"')
    expect(served.headers.get('x-content-type-options')).toBe('nosniff')
    // About 30 days (link_days' default).
    const exp = Number(new URL(link).searchParams.get('exp')) * 1000
    expect(Math.abs(exp - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000)
  })

  it('refuses a tampered, moved or expired link with 403 problem+json, and after erasure the link is 410', async () => {
    const email = unique('file-erase')
    const id = await idOf((await upload({ email }, new File([PNG], 'photo.png', { type: 'image/png' }))).res)
    await waitForState(id, 'written')
    const link = new URL(await linkOnNote(id))
    const sig = link.searchParams.get('sig')!
    const tampered = [
      `${link.pathname}?exp=${link.searchParams.get('exp')}&sig=${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`,
      `${link.pathname}?exp=${Number(link.searchParams.get('exp')) + 86_400}&sig=${sig}`,
      `/files/${crypto.randomUUID()}${link.search}`,
      link.pathname,
    ]
    for (const path of tampered) {
      const res = await request(path)
      expect(res.status, path).toBe(403)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
    const { fileLink } = await import('../src/files/link')
    const expired = new URL(await fileLink(env.HASH_SECRET, 'https://intake.example', id, 1, Date.now() - 2 * 86_400_000))
    expect((await request(expired.pathname + expired.search)).status).toBe(403)
    expect((await open(link.href)).status).toBe(200)

    expect((await erase(email)).status).toBe(200)
    expect(await object(`files/${id}`)).toBeNull()
    const gone = await open(link.href)
    expect(gone.status).toBe(410)
    expect(gone.headers.get('content-type')).toBe('application/problem+json')
  })

  it('answers an oversize file 413 and a refused type 415, as problem+json, before anything is queued or kept', async () => {
    const cases: [File, number][] = [
      [new File([PDF, new Uint8Array(5000)], 'big.pdf', { type: 'application/pdf' }), 413],
      [new File(['hello'], 'notes.txt', { type: 'text/plain' }), 415],
      [new File(['<!DOCTYPE html><script>alert(1)</script>'], 'page.html', { type: 'text/html' }), 415],
      // Declared as allowed types, but the bytes say otherwise.
      [new File(['<html><body>hi</body></html>'], 'photo.png', { type: 'image/png' }), 415],
      [new File([PNG], 'cv.pdf', { type: 'application/pdf' }), 415],
      [new File(['MZ\x90\x00 an executable'], 'cv.pdf', { type: 'application/pdf' }), 415],
      [new File(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], 'logo.svg', { type: 'image/svg+xml' }), 415],
    ]
    const before = (await env.BUCKET.list({ prefix: 'files/' })).objects.length
    for (const [file, status] of cases) {
      const { res, sent } = await upload({ email: unique('refused') }, file, { realQueue: false })
      expect(res.status, file.name).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(sent, file.name).toEqual([])
    }
    expect((await env.BUCKET.list({ prefix: 'files/' })).objects.length).toBe(before)
  })

  it('takes a post without a file, and never lets a text value sent under the file’s field pose as a link', async () => {
    const email = unique('no-file')
    const id = await idOf((await fetchWith('/forms/upload', json({ email, attachment: 'https://evil.example/x', message: 'hi' }), { FORMS: { upload: FORM } }, { realQueue: true })).res)
    await waitForState(id, 'written')
    const event = await waitFor(async () => (await client.records('conn-test', 'event')).find((e) => noteAnswers(e)['lead-intake submission'] === id), 10_000, 'the note')
    expect(noteAnswers(event)).toMatchObject({ message: 'hi' })
    expect(noteAnswers(event).attachment).toBeUndefined()
    expect(await object(`files/${id}`)).toBeNull()
  })

  it('refuses at start-up a files block that would take HTML or SVG', async () => {
    const { checkConfig } = await import('../src/startup')
    expect(() => checkConfig({ FORMS: { upload: { files: { field: 'attachment', types: ['image/svg+xml'] } } } })).toThrow(/FORMS\.upload\.files\.types\.0: is never accepted/)
    expect(() => checkConfig({ FORMS: { upload: { files: { field: 'attachment', types: ['application/pdf'], max_bytes: 100_000_000 } } } })).toThrow(/FORMS\.upload\.files\.max_bytes/)
    expect(() => checkConfig({ FORMS: { upload: FORM } })).not.toThrow()
  })
})
