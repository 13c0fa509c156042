/** The operator's status page: counts by state, recent submissions, failures with their errors. */
import { escapeHtml, page } from '../http/html'
import { STATES, type Submission } from '../store/submissions'

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
  connection: string
  crmConfigured: boolean
}): string {
  const counts = STATES.map((s) => `<li>${s}: <strong>${v.counts[s] ?? 0}</strong></li>`).join('')
  const warning = v.crmConfigured
    ? ''
    : '<p><strong>UNIFIED_API_KEY is not set</strong>: leads are queued but cannot be written. Set it with <code>npx wrangler secret put UNIFIED_API_KEY</code>.</p>'
  return page(
    'lead-intake status',
    `<style>table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>` +
      `${warning}<p>Connection: <code>${escapeHtml(v.connection || '(not set)')}</code></p><ul>${counts}</ul>` +
      `<h2>Failures</h2>${table(v.failures, true)}<p>Replay them: <code>POST /operator/replay-failed</code></p>` +
      `<h2>Retrying</h2>${table(v.retrying, true)}` +
      `<h2>Recent</h2>${table(v.recent, false)}`,
  )
}
