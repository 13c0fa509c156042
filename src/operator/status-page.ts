/** The operator's status page: counts by state, recent submissions, failures with their errors. */
import { escapeHtml, page } from '../http/html'
import { STATES, type Submission } from '../store/submissions'
import type { ConnectionReport } from './connection'

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19)

const rows = (items: Submission[], withError: boolean) =>
  items
    .map(
      (s) =>
        `<tr><td>${when(s.received_at)}</td><td><code>${escapeHtml(s.id)}</code></td><td>${escapeHtml(s.source)}/${escapeHtml(s.form)}</td>` +
        `<td>${escapeHtml(s.state)}</td><td>${s.attempts}</td><td>${escapeHtml(s.action ?? '')} ${escapeHtml(s.crm_lead_id ?? '')}</td>` +
        (withError ? `<td>${escapeHtml(s.last_error ?? '')}</td>` : '') +
        '</tr>',
    )
    .join('')

const table = (items: Submission[], withError: boolean) =>
  items.length
    ? `<table><tr><th>received (UTC)</th><th>id</th><th>source/form</th><th>state</th><th>attempts</th><th>CRM lead</th>${withError ? '<th>last error</th>' : ''}</tr>${rows(items, withError)}</table>`
    : '<p>None.</p>'

export function statusPage(v: {
  counts: Record<string, number>
  recent: Submission[]
  failures: Submission[]
  retrying: Submission[]
  connections: ConnectionReport[]
  crmConfigured: boolean
}): string {
  const counts = STATES.map((s) => `<li>${s}: <strong>${v.counts[s] ?? 0}</strong></li>`).join('')
  const warning = v.crmConfigured
    ? ''
    : '<p><strong>UNIFIED_API_KEY is not set</strong>: leads are queued but cannot be written. Set it with <code>npx wrangler secret put UNIFIED_API_KEY</code>.</p>'
  return page(
    'lead-intake status',
    `<style>table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>` +
      `${warning}<ul>${counts}</ul>` +
      `<h2>CRM connections</h2>${v.connections.map(connectionSection).join('') || '<p>None configured.</p>'}` +
      `<h2>Failures</h2>${table(v.failures, true)}<p>Replay them: <code>POST /operator/replay-failed</code></p>` +
      `<h2>Retrying</h2>${table(v.retrying, true)}` +
      `<h2>Recent</h2>${table(v.recent, false)}`,
  )
}

const connectionSection = (r: ConnectionReport) => {
  const objects = r.objects
    .map((o) => `<tr><td>${o.object}</td><td>${o.readable}</td><td>${o.searchable}</td><td>${escapeHtml(o.error ?? '')}</td></tr>`)
    .join('')
  const sources = r.sources
    .map(
      (s) =>
        `<li>${escapeHtml(s.source)} writes ${escapeHtml(s.writes.join(', '))}` +
        s.problems.map((p) => `<br><strong>${escapeHtml(p)}</strong>`).join('') +
        s.notes.map((n) => `<br>${escapeHtml(n)}`).join('') +
        '</li>',
    )
    .join('')
  return (
    `<h3><code>${escapeHtml(r.connection || '(UNIFIED_CONNECTION_ID not set)')}</code></h3>` +
    (r.error ? `<p>Not checked: ${escapeHtml(r.error)}</p>` : `<table><tr><th>object</th><th>readable</th><th>searchable</th><th>error</th></tr>${objects}</table>`) +
    (sources ? `<ul>${sources}</ul>` : '')
  )
}
