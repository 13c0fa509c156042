/**
 * The operator console's HTML: the overview (search, at a glance, the log
 * with filters and paging, recent operator actions, CRM connections) and one
 * submission's journey. Plain server-rendered HTML that works without script;
 * one script of a few lines (static/operator/console.js) refreshes the live parts (`data-src`).
 */
import { escapeHtml } from '../http/html'
import type { Owner } from '../lead/draft'
import type { ChannelHealth } from '../notify/outbox'
import type { AuditRow } from '../store/audit'
import { type Overview, type Page, STUCK_CAP } from '../store/browse'
import type { HeldConnection } from '../store/held-connections'
import type { Attempt } from '../store/journey'
import { mayReplay, STATES } from '../store/states'
import type { Submission } from '../store/submissions'
import { chart } from './chart'
import type { ConnectionReport, ObjectReport } from './connection'

export const REFRESH_SECONDS = 30
/** A journey in flight refreshes faster: the next outcome is seconds away. */
export const IN_FLIGHT_REFRESH_SECONDS = 3

const e = escapeHtml
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
const time = (ms: number) => `<time datetime="${new Date(ms).toISOString()}">${when(ms)}</time>`

/** 850 ms, 2.3 s, 4.2 min, 1.5 h, 2.1 d. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']]
  const [size, unit] = units.find(([size]) => ms >= size)!
  const n = ms / size
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${unit}`
}

/**
 * The page around a console view. Its stylesheet and script are static assets of the Worker
 * (static/operator/), served by the console's routes behind its auth: they stay out of the
 * Worker's bundle and are cached by the browser, and the CSP allows nothing else.
 */
export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} · lead-intake</title><link rel="stylesheet" href="/operator/console.css"><script src="/operator/console.js" defer></script></head>
<body><header><h1><a href="/operator/">lead-intake operator</a></h1>
<nav aria-label="Console"><ul><li><a href="/operator/#glance">At a glance</a></li><li><a href="/operator/#list">Submissions</a></li><li><a href="/operator/#audit">Actions</a></li><li><a href="/operator/#connections">CRM connections</a></li></ul></nav></header>
<main>${body}</main></body></html>`
}

// --- the overview ---

export interface ListFilters {
  state?: string
  /** `source` or `source/form`. */
  src?: string
  /** UTC dates, YYYY-MM-DD, both included. */
  from?: string
  to?: string
  /** A keyed identifier hash, from a search. */
  person?: string
  /** What the person was found by: email | phone. */
  by?: string
  cursor?: string
}

export interface OverviewView {
  overview: Overview
  page: Page
  filters: ListFilters
  /** The `source` and `source/form` choices of the filter. */
  sources: string[]
  audit: AuditRow[]
  connections: ConnectionReport[]
  crmConfigured: boolean
  notice?: string
  notify?: NotifyStatus
  held?: HeldView
}

/** Connections held now (they refuse our credentials), and the submissions waiting for them per source. */
export interface HeldView {
  connections: (HeldConnection & { submissions: number })[]
  bySource: { source: string; n: number }[]
}

/** One alert per held connection: which, why, since when, and that its leads resume by themselves. */
function heldAlerts(h: HeldView): string[] {
  if (!h.connections.length) return []
  const perSource = h.bySource.map((r) => `${e(r.source)} ${r.n}`).join(', ')
  return h.connections.map(
    (c) =>
      `<div class="alert"><strong>CRM connection ${e(c.connection)} is held</strong> since ${time(c.since)} UTC: ${e(c.reason)}. ` +
      `${c.submissions} submission${c.submissions === 1 ? ' waits' : 's wait'} (<a href="/operator/?state=held#list">see them</a>)` +
      `${perSource ? `; held by source: ${perSource}` : ''}. It is probed every minute${c.probed_at ? ` (last ${time(c.probed_at)} UTC)` : ''}; no replay is needed.</div>`,
  )
}

const query = (f: ListFilters) => {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(f)) if (v) params.set(k, v)
  const q = params.toString()
  return q ? `?${q}` : ''
}

export function overviewPage(v: OverviewView): string {
  return layout(
    'Operator console',
    (v.notice ? `<p class="notice" role="status">${e(v.notice)}</p>` : '') +
      searchForm() +
      glance(v.overview, v.connections, v.crmConfigured, v.notify, v.held) +
      listSection(v) +
      auditSection(v.audit) +
      connectionsSection(v.connections),
  )
}

const searchForm = () =>
  `<form method="post" action="/operator/find" role="search" aria-describedby="find-hint"><div class="row">` +
  `<div><label for="q">Find a person or a submission</label><input id="q" name="q" type="search" required autocomplete="off" spellcheck="false" size="30" placeholder="email, phone or submission id"></div>` +
  `<div><label for="country">Phone country</label><input id="country" name="country" value="US" size="3" maxlength="2" pattern="[A-Za-z]{2}" autocomplete="off" aria-describedby="country-hint"></div>` +
  `<div><button class="primary">Find</button></div></div>` +
  `<p class="hint" id="find-hint">Searched as the log keys it: the address is hashed here and neither kept nor put in the address bar. <span id="country-hint">A phone without + is read in this country.</span></p></form>`

/** Notification channels whose newest message did not get through, and the alerts firing (README "Notifications"). */
export interface NotifyStatus {
  channels: ChannelHealth[]
  alerts: { condition: string; since: number; detail: string | null }[]
}

/** One alert line per failing channel and per firing alert: names, counts and the reason only. */
const notifyAlerts = (n: NotifyStatus | undefined): string[] => [
  ...(n?.channels ?? [])
    .filter((c) => c.failing)
    .map(
      (c) =>
        `<p class="alert">Notification channel <strong>${e(c.channel)}</strong> is failing${c.lastError ? `: ${e(c.lastError)}` : ''} ` +
        `(${c.failed} given up, ${c.retrying} being retried in 24 h; <a href="/operator/channels">details</a>).</p>`,
    ),
  ...(n?.alerts ?? []).map((a) => `<p class="alert">Alert <strong>${e(a.condition)}</strong> since ${time(a.since)} UTC${a.detail ? `: ${e(a.detail)}` : ''}</p>`),
]

export function glance(o: Overview, connections: ConnectionReport[], crmConfigured: boolean, notify?: NotifyStatus, held: HeldView = { connections: [], bySource: [] }): string {
  const all = o.timing.find((t) => t.source === '*')
  const count = (state?: string, source?: string) =>
    o.day.filter((r) => (!state || r.state === state) && (!source || r.source === source)).reduce((a, r) => a + r.n, 0)
  const rate = (source?: string) => {
    const written = count('written', source)
    const settled = written + count('failed', source)
    return settled ? `${Math.floor((written / settled) * 1000) / 10}%` : '—'
  }
  const alerts: string[] = []
  alerts.push(...heldAlerts(held))
  if (!crmConfigured) alerts.push('<p class="alert"><strong>UNIFIED_API_KEY is not set</strong>: leads are queued but cannot be written. Set it with <code>npx wrangler secret put UNIFIED_API_KEY</code>.</p>')
  if (o.open.failed) {
    alerts.push(
      `<div class="alert"><strong>failed: ${o.open.failed}</strong> submission${o.open.failed === 1 ? ' waits' : 's wait'} for a replay ` +
        `(<a href="/operator/?state=failed#list">see them</a>).<form method="post" action="/operator/replay-failed"><button>Replay all failed</button></form></div>`,
    )
  }
  // A platform refusing a source's token holds all its leads: one line per source, with since when and the fix.
  for (const t of o.tokens ?? []) alerts.push(`<p class="alert"><strong>${e(t.source)}: leads held since ${time(t.since)} UTC</strong>: ${e(t.reason)}.</p>`)
  if (o.stuck) alerts.push(`<p class="alert">${o.stuck >= STUCK_CAP ? `${o.stuck} or more` : o.stuck} submission${o.stuck === 1 ? ' has' : 's have'} had no news for an hour (the message was lost): replay all failed takes them too.</p>`)
  const problems = connections.reduce((a, r) => a + (r.error ? 1 : 0) + r.sources.reduce((b, s) => b + s.problems.length, 0), 0)
  if (problems) alerts.push(`<p class="alert">The CRM connection check found ${problems} problem${problems === 1 ? '' : 's'}: <a href="#connections">see CRM connections</a>.</p>`)
  alerts.push(...notifyAlerts(notify))
  if (!alerts.length) alerts.push('<p class="good">Nothing is failing.</p>')
  const waiting = o.open.queued + o.open.retrying
  const sources = [...new Set(o.day.map((r) => r.source))].sort()
  const timing = (source: string) => o.timing.find((t) => t.source === source)
  const sourceRows = sources
    .map((s) => {
      const t = timing(s)
      const cells = [
        ['Received', count(undefined, s)],
        ['Written', count('written', s)],
        ['Failed', count('failed', s)],
        ['Warned', o.warned.find((w) => w.source === s)?.n ?? 0],
        ['Waiting', count('queued', s) + count('retrying', s)],
        ['Spam, ignored', count('spam', s) + count('ignored', s) + count('duplicate-delivery', s)],
        ['Success', rate(s)],
        ['Median', t ? duration(t.median) : '—'],
        ['p95', t ? duration(t.p95) : '—'],
      ]
      return `<tr><th scope="row">${e(s)}</th>${cells.map(([label, value]) => `<td class="n" data-l="${label}">${value}</td>`).join('')}</tr>`
    })
    .join('')
  return (
    `<section id="glance" aria-labelledby="glance-h" data-src="/operator/?part=glance" data-every="${REFRESH_SECONDS}">` +
    `<h2 id="glance-h">At a glance</h2><p class="asof">As of ${time(o.at)} UTC; updates every ${REFRESH_SECONDS} s.</p>` +
    alerts.join('') +
    `<ul class="kpis" aria-label="Last 24 hours">` +
    `<li><b>${count()}</b>received, 24 h</li><li><b>${rate()}</b>written of settled</li>` +
    `<li><b>${all ? duration(all.median) : '—'}</b>median to CRM</li><li><b>${all ? duration(all.p95) : '—'}</b>p95 to CRM</li>` +
    `<li><b>${waiting}</b>queued or retrying</li></ul>` +
    chart(o) +
    `<h3>Last 24 hours by source</h3><div class="scroll"><table class="rows compact"><thead><tr><th scope="col">Source</th><th scope="col" class="n">Received</th><th scope="col" class="n">Written</th>` +
    `<th scope="col" class="n">Failed</th><th scope="col" class="n">Warned</th><th scope="col" class="n">Waiting</th><th scope="col" class="n">Spam, ignored</th><th scope="col" class="n">Success</th>` +
    `<th scope="col" class="n">Median</th><th scope="col" class="n">p95</th></tr></thead><tbody>${sourceRows || '<tr><td colspan="10">No submissions in the last 24 hours.</td></tr>'}</tbody></table></div>` +
    `<p class="hint">Success: written of those written or failed. Median and p95: from receipt to the CRM write being logged (updated_at − received_at of written submissions; a replayed one counts from its first receipt).</p>` +
    `</section>`
  )
}

/** Who a created record got as its owner, and by which part of the source's owner plan (JSON of an Owner). */
const ownerOf = (json: string): string => {
  const o = JSON.parse(json) as Owner
  return `<code>${e(o.userId)}</code> (${e(o.by)})`
}

const crmIds = (s: Submission): string => {
  let ids: Record<string, string> = {}
  try {
    ids = s.crm_ids ? (JSON.parse(s.crm_ids) as Record<string, string>) : s.crm_lead_id ? { lead: s.crm_lead_id } : {}
  } catch {
    // Not JSON: shown as nothing rather than breaking the page.
  }
  return Object.entries(ids)
    .map(([object, id]) => `${e(object)} <code>${e(String(id))}</code>`)
    .join('<br>')
}

const badge = (state: string) => `<span class="st st-${e(state)}">${e(state)}</span>`

/** A replay button: a same-origin POST form (sameSiteOnly refuses other sites' posts). */
const replayButton = (id: string, label = 'Replay') =>
  `<form class="inline" method="post" action="/operator/submissions/${encodeURIComponent(id)}/replay"><button>${label}</button></form>`

const isStuck = (s: Submission, now: number, stuckAfterMs: number) => (s.state === 'queued' || s.state === 'retrying') && s.updated_at < now - stuckAfterMs

function listSection(v: OverviewView): string {
  const f = v.filters
  const options = (values: readonly string[], selected: string | undefined, any: string) =>
    `<option value="">${any}</option>` + values.map((s) => `<option${s === selected ? ' selected' : ''}>${e(s)}</option>`).join('')
  const heading = f.person ? `Submissions of the person you searched for, by ${f.by === 'phone' ? 'phone' : 'email'}` : 'Submissions'
  const rows = v.page.submissions
    .map((s) => {
      const journey = `/operator/journey/${encodeURIComponent(s.id)}`
      return (
        `<tr><td data-l="Received">${time(s.received_at)}</td><td data-l="Submission"><a href="${journey}"><code>${e(s.id.slice(0, 8))}</code></a></td>` +
        `<td data-l="Source">${e(s.source)}/${e(s.form)}</td><td data-l="State">${badge(s.state)}${s.attempts > 1 ? ` <span class="hint">${s.attempts} attempts</span>` : ''}</td>` +
        `<td data-l="CRM">${crmIds(s)}${s.action ? ` <span class="hint">${e(s.action)}</span>` : ''}</td>` +
        `<td data-l="Error">${s.last_error ? `<span class="err">${e(s.last_error)}</span>` : ''}</td>` +
        `<td>${s.state === 'failed' ? replayButton(s.id) : ''}</td></tr>`
      )
    })
    .join('')
  const base = { ...f, cursor: undefined }
  const pager =
    `<nav class="pager" aria-label="Pages">` +
    (f.cursor ? `<a href="/operator/${query(base)}#list">Newest</a>` : '') +
    (v.page.next ? `<a href="/operator/${query({ ...f, cursor: v.page.next })}#list" rel="next">Older submissions</a>` : '') +
    `</nav>`
  return (
    `<section id="list" aria-labelledby="list-h"><h2 id="list-h">${heading}</h2>` +
    `<form method="get" action="/operator/#list" aria-label="Filter submissions"><div class="row">` +
    (f.person ? `<input type="hidden" name="person" value="${e(f.person)}"><input type="hidden" name="by" value="${e(f.by ?? '')}">` : '') +
    `<div><label for="f-state">State</label><select id="f-state" name="state">${options(STATES, f.state, 'any')}</select></div>` +
    `<div><label for="f-src">Source / form</label><select id="f-src" name="src">${options(v.sources, f.src, 'any')}</select></div>` +
    `<div><label for="f-from">From (UTC)</label><input id="f-from" type="date" name="from" value="${e(f.from ?? '')}"></div>` +
    `<div><label for="f-to">To (UTC)</label><input id="f-to" type="date" name="to" value="${e(f.to ?? '')}"></div>` +
    `<div><button>Filter</button></div><div><a href="/operator/#list">Clear</a></div></div></form>` +
    (rows
      ? `<table class="rows"><thead><tr><th scope="col">Received (UTC)</th><th scope="col">Submission</th><th scope="col">Source/form</th><th scope="col">State</th>` +
        `<th scope="col">CRM records</th><th scope="col">Last error</th><th scope="col"><span class="vh">Actions</span></th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p>${f.person ? 'No submission of that person is in the log (it keeps SUBMISSION_RETENTION_DAYS).' : 'No submissions match.'}</p>`) +
    pager +
    `</section>`
  )
}

/** What each audited action is called; a Record, so an action added to the audit log can't be shown as another. */
const AUDIT_ACTIONS: Record<AuditRow['action'], string> = {
  replay: 'replayed',
  'replay-failed': 'replayed all failed',
  erasure: 'erased a person',
  export: 'exported a person’s data',
}

/** An erasure's or export's counts (`{"submissions":3,…}`) as words; any other detail as it is. */
function auditDetail(detail: string): string {
  try {
    const counts: unknown = JSON.parse(detail)
    if (counts && typeof counts === 'object' && !Array.isArray(counts)) {
      return Object.entries(counts).map(([what, n]) => `${what.replaceAll('_', ' ')} ${String(n)}`).join(', ')
    }
  } catch {
    // not JSON: a replay's own words
  }
  return detail
}

const auditText = (a: AuditRow) => {
  const link = a.submission_id ? ` <a href="/operator/journey/${encodeURIComponent(a.submission_id)}"><code>${e(a.submission_id.slice(0, 8))}</code></a>` : ''
  const what = AUDIT_ACTIONS[a.action] ?? e(a.action)
  return `${what}${link}${a.detail ? `: ${e(auditDetail(a.detail))}` : ''}`
}

function auditSection(rows: AuditRow[]): string {
  const items = rows.map((a) => `<li>${time(a.at)} — ${e(a.who)} (${e(a.via)}) ${auditText(a)}</li>`).join('')
  return `<section id="audit" aria-labelledby="audit-h"><h2 id="audit-h">Recent operator actions</h2>${items ? `<ul>${items}</ul>` : '<p>None yet.</p>'}</section>`
}

/** One object's row: what Unified's support data says of it, or what the read-only probe found where it says nothing. */
function objectRow(o: ObjectReport): string {
  const cells =
    o.from === 'unified'
      ? [o.methods?.list, o.methods?.get, o.methods?.create, o.methods?.update, o.object === 'event' ? 'not needed' : o.query === 'yes' ? 'by query' : o.query === 'no' ? 'reads every record' : 'unknown', o.writes ? o.writes.join(', ') : 'not listed']
      : [o.readable, '—', '—', '—', o.searchable, '—']
  return `<tr><td>${e(o.object)}</td><td>${o.from === 'unified' ? 'Unified’s support data' : 'read-only probe'}</td>${cells.map((c) => `<td>${e(c ?? '')}</td>`).join('')}<td>${e(o.error ?? '')}</td></tr>`
}

function connectionsSection(connections: ConnectionReport[]): string {
  const one = (r: ConnectionReport) => {
    const sources = r.sources
      .map(
        (s) =>
          `<li>${e(s.source)} writes ${e(s.writes.join(', '))}` +
          s.problems.map((p) => `<br><strong>${e(p)}</strong>`).join('') +
          s.notes.map((n) => `<br>${e(n)}`).join('') +
          '</li>',
      )
      .join('')
    const support =
      r.support === 'unified'
        ? `<p>Integration <code>${e(r.integration ?? '?')}</code>: what it can do is Unified’s support data for it${r.supportError ? ` (as read earlier: reading it again failed: ${e(r.supportError)})` : ''}; objects it says nothing of were probed read-only.</p>`
        : `<p>Integration ${r.integration ? `<code>${e(r.integration)}</code>` : 'unknown'}: Unified’s support data could not be read${r.supportError ? ` (${e(r.supportError)})` : ''}, so nothing is assumed (writes behave as before) and every object was probed read-only.</p>`
    return (
      `<h3><code>${e(r.connection || '(UNIFIED_CONNECTION_ID not set)')}</code></h3>` +
      support +
      (r.error
        ? `<p>Not checked: ${e(r.error)}</p>`
        : `<div class="scroll"><table><thead><tr><th scope="col">Object</th><th scope="col">From</th><th scope="col">List</th><th scope="col">Get</th><th scope="col">Create</th><th scope="col">Update</th><th scope="col">Search</th><th scope="col">Fields it writes</th><th scope="col">Error</th></tr></thead><tbody>${r.objects.map(objectRow).join('')}</tbody></table></div>`) +
      (sources ? `<ul>${sources}</ul>` : '')
    )
  }
  return `<section id="connections" aria-labelledby="conn-h"><h2 id="conn-h">CRM connections</h2><p class="hint">Checked at most every 5 minutes: each integration’s support data, read from Unified daily; objects it says nothing of probed read-only.</p>${connections.map(one).join('') || '<p>None configured.</p>'}</section>`
}

// --- one submission's journey ---

export interface JourneyView {
  submission: Submission
  attempts: Attempt[]
  audit: AuditRow[]
  now: number
  stuckAfterMs: number
}

interface Step {
  at: number
  state: string
  html: string
}

export function journeyPage(v: JourneyView): string {
  return layout(`Submission ${v.submission.id.slice(0, 8)}`, `<p><a href="/operator/">← All submissions</a></p>${journeySection(v)}`)
}

export function journeySection(v: JourneyView): string {
  const s = v.submission
  const inFlight = s.state === 'queued' || s.state === 'retrying'
  const replayable = mayReplay(s, v.now)
  const steps: Step[] = [{ at: s.received_at, state: 'queued', html: `<b>Received</b> from ${e(s.source)}/${e(s.form)} and queued` }]
  for (const a of v.attempts) {
    const what =
      a.state === 'held'
        ? '<b>Held</b>, waiting for its CRM connection (no attempt spent)'
        : a.attempt === 0
          ? '<b>The queue gave up</b> on this message'
          : `<b>Attempt ${a.attempt}</b>${a.gen ? ` (replay ${a.gen})` : ''}`
    const detail = [
      badge(a.state),
      a.action ? e(a.action) : '',
      a.status ? `status ${a.status}` : '',
      a.ms !== null ? `took ${duration(a.ms)}` : '',
    ].filter(Boolean)
    steps.push({ at: a.at, state: a.state, html: `${what}: ${detail.join(' · ')}${a.error ? `<br><span class="err">${e(a.error)}</span>` : ''}` })
  }
  for (const a of v.audit) {
    steps.push({ at: a.at, state: 'queued', html: `<b>Replayed</b> by ${e(a.who)} (${e(a.via)})${a.detail ? `: ${e(a.detail)}` : ''}` })
  }
  if (!v.attempts.length && !inFlight) {
    // Logged before attempts were kept (migration 0006): the row's last word only.
    steps.push({ at: s.updated_at, state: s.state, html: `${badge(s.state)} after ${s.attempts} attempt${s.attempts === 1 ? '' : 's'} (attempts before this console were not itemized)` })
  }
  steps.sort((a, b) => a.at - b.at)
  const end =
    s.state === 'written'
      ? `<b>Written</b> ${duration(s.updated_at - s.received_at)} after receipt.`
      : s.state === 'failed'
        ? '<b>Failed</b>: it waits for a replay (fix the cause first; the reason is above).'
        : s.state === 'held'
          ? '<b>Held</b>: its CRM connection refuses our credentials (the reason is above). No attempt is spent waiting; it is written by itself once the connection answers again, no replay needed.'
        : inFlight
          ? `<b>In the queue</b>${isStuck(s, v.now, v.stuckAfterMs) ? ': no news for over an hour, so its message was lost; replay it' : ': the next attempt follows its retry delay'}.`
          : `<b>${e(s.state)}</b>: nothing is written for it.`
  return (
    `<section id="journey" aria-labelledby="journey-h"${inFlight ? ` data-src="/operator/journey/${encodeURIComponent(s.id)}?part=journey" data-every="${IN_FLIGHT_REFRESH_SECONDS}"` : ''}>` +
    `<h2 id="journey-h">Submission <code>${e(s.id)}</code></h2>` +
    `<p class="asof">As of ${time(v.now)} UTC${inFlight ? `; updates every ${IN_FLIGHT_REFRESH_SECONDS} s while it is in flight` : ''}.</p>` +
    `<dl class="facts"><dt>State</dt><dd id="state">${badge(s.state)}</dd><dt>Source / form</dt><dd>${e(s.source)}/${e(s.form)}</dd>` +
    `<dt>Received</dt><dd>${time(s.received_at)} UTC</dd><dt>Last change</dt><dd>${time(s.updated_at)} UTC</dd>` +
    `<dt>Attempts</dt><dd>${s.attempts}${s.gen ? ` (replayed ${s.gen} time${s.gen === 1 ? '' : 's'})` : ''}</dd>` +
    `<dt>CRM records</dt><dd>${crmIds(s) || '—'}${s.action ? ` (${e(s.action)})` : ''}</dd>` +
    (s.owner ? `<dt>Owner</dt><dd id="owner">${ownerOf(s.owner)}</dd>` : '') +
    (s.last_error ? `<dt>Last error</dt><dd class="err">${e(s.last_error)}</dd>` : '') +
    (s.warnings ? `<dt>Warnings</dt><dd class="warn"><ul>${(JSON.parse(s.warnings) as string[]).map((w) => `<li>${e(w)}</li>`).join('')}</ul></dd>` : '') +
    `</dl>` +
    (replayable ? `<p>${replayButton(s.id, 'Replay this submission')}<span class="hint">Maps its stored input again under today's configuration and queues it; the writer finds before it creates, so a replay never duplicates.</span></p>` : '') +
    `<h3>Journey</h3><ol class="steps">${steps.map((st) => `<li class="s-${e(st.state)}">${time(st.at)} — ${st.html}</li>`).join('')}<li class="s-${e(s.state)}">${end}</li></ol>` +
    `</section>`
  )
}

/** The page for an id the log does not have. */
export const unknownPage = () =>
  layout('Unknown submission', '<h2>Unknown submission</h2><p>No submission in the log has that id (the log keeps SUBMISSION_RETENTION_DAYS).</p><p><a href="/operator/">Back to the console</a></p>')
