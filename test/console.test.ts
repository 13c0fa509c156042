/**
 * The operator console: find a person by any email or phone (hashed, never
 * kept), a submission's journey attempt by attempt, keyset paging and filters,
 * audited replays from the browser, the strict CSP, retention of what it adds.
 */
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { operatorApi, postJson, request, standin, unique, waitForState } from './helpers'

beforeEach(() => standin.reset())
afterEach(() => vi.restoreAllMocks())

const basic = 'Basic ' + btoa('operator:test-operator-token')
/** What Chromium sends with a form post from the console's own page. */
const consolePost = (path: string, fields: Record<string, string> = {}, origin = 'https://intake.example') =>
  request(path, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: {
      authorization: basic,
      origin,
      'sec-fetch-site': origin === 'https://intake.example' ? 'same-origin' : 'cross-site',
      accept: 'text/html,application/xhtml+xml',
      'content-type': 'application/x-www-form-urlencoded',
    },
  })
const page = (path: string) => request(path, { headers: { authorization: basic, accept: 'text/html' } })

const accept = async (body: Record<string, unknown>) => {
  const res = await postJson('/forms/contact', body)
  expect(res.status).toBe(202)
  return ((await res.json()) as { id: string }).id
}

type Row = { id: string; state: string; source: string; form: string; received_at: number }
type Listing = { submissions: Row[]; next?: string }
const list = async (query: string): Promise<Listing> => {
  const res = await operatorApi(`/submissions?${query}`)
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as Listing
}

describe('finding a person', () => {
  it('finds each submission of a person by either identifier, in any spelling, newest first', async () => {
    const email = unique('Finder')
    const first = await accept({ email, phone: '+44 20 7946 0001' })
    await waitForState(first, 'written')
    const second = await accept({ email: email.toUpperCase(), first_name: 'Again' })
    await waitForState(second, 'written')
    const other = await accept({ email: unique('someone-else') })
    await waitForState(other, 'written')

    expect((await list(`email=${encodeURIComponent(`  ${email.toUpperCase()} `)}`)).submissions.map((s) => s.id)).toEqual([second, first])
    // The phone, written as someone in the UK would, read in the country given.
    expect((await list(`phone=${encodeURIComponent('020 7946 0001')}&country=GB`)).submissions.map((s) => s.id)).toEqual([first])
    // Read as a US number (the default) it is no number at all.
    expect((await operatorApi(`/submissions?phone=${encodeURIComponent('020 7946 0001')}`)).status).toBe(400)
    // Filters apply within the person's submissions.
    expect((await list(`email=${encodeURIComponent(email)}&since=${Date.now() + 60_000}`)).submissions).toEqual([])
  })

  it('the console’s search takes an email, a phone or a submission id, and puts only the hash in the address', async () => {
    const email = unique('console-find')
    const id = await accept({ email })
    await waitForState(id, 'written')
    const found = await consolePost('/operator/find', { q: email, country: 'US' })
    expect(found.status).toBe(303)
    const location = found.headers.get('location')!
    expect(location).toMatch(/^\/operator\/\?person=[0-9a-f]{64}&by=email#list$/)
    expect(location).not.toContain(email.split('@')[0])
    const html = await (await page(location.replace('#list', ''))).text()
    expect(html).toContain('Submissions of the person you searched for, by email')
    expect(html).toContain(`/operator/journey/${id}`)
    expect(html).not.toContain(email)

    const byId = await consolePost('/operator/find', { q: id })
    expect(byId.headers.get('location')).toBe(`/operator/journey/${id}`)
    const nothing = await consolePost('/operator/find', { q: 'not-an-id-nor-a-person' })
    expect(nothing.headers.get('location')).toBe('/operator/?find=not-found#list')
  })

  it('refuses what is no email or phone without echoing it, and a form without its source', async () => {
    const res = await operatorApi('/submissions?email=secret-typo%40')
    expect(res.status).toBe(400)
    expect(await res.text()).not.toContain('secret-typo')
    expect((await operatorApi('/submissions?phone=12')).status).toBe(400)
    expect((await operatorApi('/submissions?email=a%40example.com&phone=%2B14155550100')).status).toBe(400)
    expect((await operatorApi('/submissions?form=contact')).status).toBe(400)
    expect((await operatorApi('/submissions?cursor=nonsense')).status).toBe(400)
  })

  it('never stores or logs the searched address: every D1 row and log line checked', async () => {
    const logged: string[] = []
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')))
    }
    const email = 'Searched.Person-9q7@Private-Example.org'
    const phone = '+1 (415) 555-0199'
    await list(`email=${encodeURIComponent(email)}`)
    await list(`phone=${encodeURIComponent(phone)}&country=US`)
    await consolePost('/operator/find', { q: email })
    await consolePost('/operator/find', { q: phone, country: 'US' })

    const { results: tables } = await env.DB.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`).all<{ name: string }>()
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['submissions', 'submission_keys', 'submission_attempts', 'audit']))
    let dump = ''
    for (const { name } of tables) dump += JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results)
    const traces = ['searched.person-9q7', 'private-example.org', '4155550199', '555-0199']
    for (const trace of traces) {
      expect(dump.toLowerCase()).not.toContain(trace)
      expect(logged.join('\n').toLowerCase()).not.toContain(trace)
    }
    expect(logged.join('\n')).toContain('"route":"/operator/submissions"') // the capture works
  })
})

describe('a submission’s journey', () => {
  it('records each attempt; a replay from the console is audited and shown as the next generation', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400, times: 1 }])
    const id = await accept({ email: unique('journey') })
    await waitForState(id, 'failed')

    const replayed = await consolePost(`/operator/submissions/${id}/replay`)
    expect(replayed.status).toBe(303)
    expect(replayed.headers.get('location')).toBe(`/operator/journey/${id}`)
    await waitForState(id, 'written')

    const row = (await (await operatorApi(`/submissions/${id}`)).json()) as {
      journey: { gen: number; attempt: number; state: string; status: number | null; error: string | null; action: string | null; ms: number | null }[]
      actions: { who: string; via: string; action: string; submission_id: string; detail: string }[]
    }
    // The refused create, then the replay's attempts (its writer may first wait out the create it could not see through).
    expect(row.journey[0]).toMatchObject({ gen: 0, attempt: 1, state: 'failed', status: 400, error: expect.stringContaining('400') })
    expect(row.journey.at(-1)).toMatchObject({ gen: 1, state: 'written', status: null, error: null, action: 'created' })
    expect(row.journey.slice(1).every((a) => a.gen === 1)).toBe(true)
    expect(row.journey.every((a) => typeof a.ms === 'number' && a.ms >= 0)).toBe(true)
    expect(row.actions).toMatchObject([{ who: 'operator', via: 'console', action: 'replay', submission_id: id, detail: 'was failed, queued as replay 1' }])

    const html = await (await page(`/operator/journey/${id}`)).text()
    for (const text of ['<b>Received</b>', '<b>Attempt 1</b>', 'status 400', '<b>Replayed</b> by operator (console)', '(replay 1)', '<b>Written</b>']) {
      expect(html).toContain(text)
    }
    expect(html).not.toContain('Replay this submission') // written: nothing to replay
    // The overview lists the action.
    expect(await (await page('/operator/')).text()).toContain(`operator (console) replayed <a href="/operator/journey/${id}">`)
  })

  it('offers a replay on a failed journey, refuses one from another site, and audits nothing then', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 422 }])
    const id = await accept({ email: unique('journey-failed') })
    await waitForState(id, 'failed')
    const html = await (await page(`/operator/journey/${id}`)).text()
    expect(html).toContain(`<form class="inline" method="post" action="/operator/submissions/${id}/replay"><button>Replay this submission</button></form>`)
    const forged = await consolePost(`/operator/submissions/${id}/replay`, {}, 'https://evil.example')
    expect(forged.status).toBe(403)
    const row = (await (await operatorApi(`/submissions/${id}`)).json()) as { state: string; actions: unknown[] }
    expect(row).toMatchObject({ state: 'failed', actions: [] })
    expect((await page('/operator/journey/no-such-id')).status).toBe(404)
  })

  it('audits replay-all once, with each submission it queued', async () => {
    await standin.faults([{ operations: ['lead.create'], status: 400 }])
    const ids = [await accept({ email: unique('all') }), await accept({ email: unique('all') })]
    for (const id of ids) await waitForState(id, 'failed')
    await standin.faults([])
    const res = await consolePost('/operator/replay-failed')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/operator\/\?replayed=\d+/)
    for (const id of ids) await waitForState(id, 'written')
    const { results } = await env.DB.prepare(`SELECT via, action, submission_id, detail FROM audit ORDER BY id DESC`).all()
    expect(results[0]).toMatchObject({ via: 'console', action: 'replay-failed', submission_id: null, detail: expect.stringMatching(/^\d+ queued/) })
    for (const id of ids) {
      expect(results.filter((r) => r.submission_id === id)).toEqual([{ via: 'console', action: 'replay', submission_id: id, detail: 'was failed, queued as replay 1 (replay all failed)' }])
    }
  })
})

describe('the actions list', () => {
  it('shows each operator action as what it was: an export, an erasure, a replay of all failed', async () => {
    const email = unique('audited')
    await waitForState(await accept({ email }), 'written')
    expect((await operatorApi(`/people?email=${encodeURIComponent(email)}`)).status).toBe(200)
    const erasure = await operatorApi('/erasure', { method: 'POST', body: JSON.stringify({ email }), headers: { 'content-type': 'application/json' } })
    expect(erasure.status).toBe(200)
    expect((await consolePost('/operator/replay-failed')).status).toBe(303)
    const html = await (await page('/operator/')).text()
    const actions = [...html.slice(html.indexOf('id="audit"')).matchAll(/<li>.*? — operator \((api|console)\) ([^<]*)/g)].slice(0, 3).map((m) => `${m[1]} ${m[2]}`)
    expect(actions).toEqual([
      expect.stringMatching(/^console replayed all failed: \d+ queued/),
      expect.stringMatching(/^api erased a person: submissions 1, /),
      expect.stringMatching(/^api exported a person’s data: people 1, submissions 1/),
    ])
  })
})

describe('paging and filters', () => {
  const seed = async (n: number, prefix: string) => {
    const base = Date.now() - 3_600_000
    const insert = env.DB.prepare(
      `INSERT INTO submissions (id, received_at, updated_at, source, form, state, gen, hash_v) VALUES (?1, ?2, ?2, ?5, ?3, ?4, 0, 2)`,
    )
    // Ten submissions share each millisecond: the cursor must break ties by id.
    await env.DB.batch(
      Array.from({ length: n }, (_, i) => insert.bind(`${prefix}-${String(i).padStart(4, '0')}`, base + Math.floor(i / 10), i % 3 ? 'a' : 'b', i % 4 ? 'written' : 'failed', prefix)),
    )
    return base
  }

  it('walks every row once, newest first, through the cursor, with each filter', async () => {
    const base = await seed(130, 'walk')
    const walk = async (query: string) => {
      const seen: Row[] = []
      let next: string | undefined
      do {
        const pageRows: Listing = await list(`${query}&limit=20${next ? `&cursor=${encodeURIComponent(next)}` : ''}`)
        seen.push(...pageRows.submissions)
        next = pageRows.next
      } while (next)
      return seen
    }
    const order = (a: Row, b: Row) => b.received_at - a.received_at || (a.id < b.id ? 1 : -1)
    const all = await walk('source=walk')
    expect(all).toHaveLength(130)
    expect(new Set(all.map((r) => r.id)).size).toBe(130)
    expect(all).toEqual([...all].sort(order))
    const formB = await walk('source=walk&form=b')
    expect(formB.map((r) => r.id)).toEqual(all.filter((r) => r.form === 'b').map((r) => r.id))
    const failed = await walk('source=walk&state=failed')
    expect(failed.map((r) => r.id)).toEqual(all.filter((r) => r.state === 'failed').map((r) => r.id))
    const window = await walk(`source=walk&since=${base + 2}&until=${base + 5}`)
    expect(window.map((r) => r.id)).toEqual(all.filter((r) => r.received_at >= base + 2 && r.received_at < base + 5).map((r) => r.id))
  })

  it('pages the console’s list with an "Older submissions" link that keeps the filters', async () => {
    await seed(150, 'link')
    const first = await (await page('/operator/?src=link/a&state=written')).text()
    const link = /<a href="(\/operator\/\?[^"]+)#list" rel="next">Older submissions<\/a>/.exec(first)?.[1]
    expect(link).toBeDefined()
    const params = new URLSearchParams(link!.slice('/operator/?'.length).replaceAll('&amp;', '&'))
    expect(params.get('src')).toBe('link/a')
    expect(params.get('state')).toBe('written')
    const second = await (await page(link!.replaceAll('&amp;', '&'))).text()
    expect(second).toContain('>Newest</a>')
    expect(second).not.toContain('rel="next"')
  })
})

describe('the console under a strict CSP', () => {
  it('runs only its own stylesheet and script, loads nothing from elsewhere, and is not cached', async () => {
    const res = await page('/operator/')
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("form-action 'self'")
    expect(res.headers.get('cache-control')).toBe('no-store')
    const html = await res.text()
    expect(html.match(/<script[^>]*>[^<]*<\/script>/g)).toEqual(['<script src="/operator/console.js" defer></script>'])
    expect(html.match(/<(style|link)[^>]*>/g)).toEqual(['<link rel="stylesheet" href="/operator/console.css">'])
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=|(src|href)="(https?:)?\/\//)
    // The live part refreshes from its own URL, which answers the same section.
    expect(html).toContain('data-src="/operator/?part=glance" data-every="30"')
    const glance = await (await page('/operator/?part=glance')).text()
    expect(glance).toMatch(/^<section id="glance"[^>]* data-src="\/operator\/\?part=glance"/)
    expect(glance).toContain('As of <time datetime=')
  })
})

describe('the console’s stylesheet and script', () => {
  it('are the Worker’s static assets, served behind the console’s auth and revalidated by the browser', async () => {
    const assets: [string, string, string][] = [
      ['/operator/console.css', 'text/css', '.st-failed{'],
      ['/operator/console.js', 'javascript', "querySelectorAll('[data-src]')"],
    ]
    for (const [path, type, text] of assets) {
      const res = await page(path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type'), path).toContain(type)
      expect(res.headers.get('cache-control'), path).toBe('private, no-cache')
      expect(await res.text(), path).toContain(text)
      expect((await request(path)).status, `${path} without credentials`).toBe(401)
      const etag = res.headers.get('etag')
      if (etag) expect((await request(path, { headers: { authorization: basic, 'if-none-match': etag } })).status).toBe(304)
    }
    // Every other static asset (the phone metadata) is the Worker's own, served to nobody.
    expect((await request('/phone-metadata.json')).status).toBe(404)
  })
})

describe('retention', () => {
  it('purges the identifier hashes, attempts and audit rows with their submissions', async () => {
    const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import('cloudflare:test')
    const worker = (await import('../src/index')).default
    const old = Date.now() - 31 * 86_400_000
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO submissions (id, received_at, updated_at, source, form, state) VALUES ('old-console', ?1, ?1, 'form', 'contact', 'written')`).bind(old),
      env.DB.prepare(`INSERT INTO submission_keys (submission_id, hash, received_at) VALUES ('old-console', 'h-old', ?1)`).bind(old),
      env.DB.prepare(`INSERT INTO submission_attempts (submission_id, gen, attempt, at, state) VALUES ('old-console', 0, 1, ?1, 'written')`).bind(old),
      env.DB.prepare(`INSERT INTO audit (at, who, via, action, submission_id) VALUES (?1, 'operator', 'api', 'replay', 'old-console')`).bind(old),
    ])
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
    for (const [table, column] of [['submissions', 'id'], ['submission_keys', 'submission_id'], ['submission_attempts', 'submission_id'], ['audit', 'submission_id']]) {
      expect(await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = 'old-console'`).first('n'), table).toBe(0)
    }
  })
})
