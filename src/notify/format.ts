/**
 * A notification as each kind of channel takes it: Slack Block Kit (with `text`, the plain-text
 * fallback Slack shows in notifications), a Teams Adaptive Card in the `message` envelope Teams'
 * Workflows webhooks read, an email's plain text and HTML, and a Standard Webhooks payload
 * (`type`, `timestamp`, `data`). Pure functions: what is sent is testable without sending.
 */
import { escapeHtml } from '../http/html'
import type { NotifyEvent } from './channels'
import type { AlertMessage, EventMessage, LeadSummary, NotifyMessage } from './message'

/** Where the console shows a submission's journey: PUBLIC_URL (the Worker's address) when set, else the path alone. */
export const journeyUrl = (publicUrl: string | undefined, submission: string): string =>
  `${(publicUrl ?? '').replace(/\/+$/, '')}/operator/journey/${encodeURIComponent(submission)}`

const HEADLINE: Record<NotifyEvent, string> = {
  'lead.written': 'New lead',
  'submission.failed': 'A submission failed',
  'submission.held': 'A submission is held',
}

/** The lines every format shows, in order: label and value, the empty ones left out. */
function facts(m: EventMessage): [string, string][] {
  const lead: Partial<LeadSummary> = m.lead ?? {}
  const rows: [string, string | undefined][] = [
    ['Name', lead.name],
    ['Company', lead.company],
    ['Email', lead.email],
    ['Phone', lead.phone],
    ['Source', lead.source ?? m.origin.source],
    ['Person', m.person === 'new' ? 'new to the CRM' : m.person === 'known' ? 'already known' : undefined],
    ['Message', lead.message],
    ['Why', m.reason],
  ]
  return rows.filter((r): r is [string, string] => !!r[1])
}

const title = (m: EventMessage) => `${HEADLINE[m.event]}${m.lead?.name ? `: ${m.lead.name}` : m.lead?.email ? `: ${m.lead.email}` : ''}`

/** One line a phone's lock screen shows. */
export function plainText(m: NotifyMessage, publicUrl?: string): string {
  if (m.type === 'alert') return `${m.title}\n${m.detail}`
  return `${title(m)}\n${facts(m).map(([k, v]) => `${k}: ${v}`).join('\n')}\nJourney: ${journeyUrl(publicUrl, m.submission)}`
}

/** Slack's mrkdwn treats &, < and > as control characters. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Slack incoming webhook: `text` (fallback) and Block Kit `blocks`. */
export function slackPayload(m: NotifyMessage, publicUrl?: string): unknown {
  if (m.type === 'alert') {
    return {
      text: `${m.title}: ${m.detail}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: m.title.slice(0, 150) } },
        { type: 'section', text: { type: 'mrkdwn', text: slackEscape(m.detail).slice(0, 3000) } },
      ],
    }
  }
  const url = journeyUrl(publicUrl, m.submission)
  return {
    text: plainText(m, publicUrl).slice(0, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title(m).slice(0, 150) } },
      { type: 'section', fields: facts(m).slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${slackEscape(v)}`.slice(0, 2000) })) },
      // A button needs an absolute URL; without PUBLIC_URL the path is shown as text.
      /^https?:/.test(url)
        ? { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the journey' }, url }] }
        : { type: 'context', elements: [{ type: 'mrkdwn', text: `Journey: ${slackEscape(url)}` }] },
    ],
  }
}

/** Teams (Workflows "post to a channel when a webhook request is received"): an Adaptive Card in a `message` envelope. */
export function teamsPayload(m: NotifyMessage, publicUrl?: string): unknown {
  const url = m.type === 'event' ? journeyUrl(publicUrl, m.submission) : undefined
  const body =
    m.type === 'alert'
      ? [
          { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: m.title, wrap: true },
          { type: 'TextBlock', text: m.detail, wrap: true },
        ]
      : [
          { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: title(m), wrap: true },
          { type: 'FactSet', facts: facts(m).map(([k, v]) => ({ title: k, value: v })) },
        ]
  return {
    type: 'message',
    // Shown where the card can't be (a notification, an older client).
    summary: m.type === 'alert' ? m.title : title(m),
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(url && /^https?:/.test(url) ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the journey', url }] } : {}),
          fallbackText: plainText(m, publicUrl),
        },
      },
    ],
  }
}

/** An email: subject, short plain text and HTML. */
export function emailContent(m: NotifyMessage, subject: string, publicUrl?: string): { subject: string; text: string; html: string } {
  if (m.type === 'alert') {
    return { subject: m.title, text: `${m.title}\n\n${m.detail}\n`, html: `<p><strong>${escapeHtml(m.title)}</strong></p><p>${escapeHtml(m.detail)}</p>` }
  }
  const url = journeyUrl(publicUrl, m.submission)
  const rows = facts(m)
    .map(([k, v]) => `<tr><th align="left" style="padding-right:1em">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('')
  return {
    subject: `${subject}${m.lead?.name ? `: ${m.lead.name}` : ''}`.replace(/[\r\n]+/g, ' ').slice(0, 200),
    text: `${plainText(m, publicUrl)}\n`,
    html: `<p><strong>${escapeHtml(title(m))}</strong></p><table>${rows}</table><p><a href="${escapeHtml(url)}">Open the journey</a></p>`,
  }
}

/** The Standard Webhooks payload of an event (`type`, `timestamp`, `data`). */
export function webhookPayload(m: EventMessage, publicUrl?: string): unknown {
  return {
    type: m.event,
    timestamp: m.at,
    data: {
      submission: m.submission,
      source: m.origin.source,
      form: m.origin.form,
      ...(m.person ? { person: m.person } : {}),
      ...(m.lead ? { lead: m.lead } : {}),
      ...(m.records ? { records: m.records } : {}),
      ...(m.reason ? { reason: m.reason } : {}),
      journey_url: journeyUrl(publicUrl, m.submission),
    },
  }
}

/** An alert as an outbound webhook's payload, for a webhook channel in ALERTS. */
export const alertPayload = (m: AlertMessage): unknown => ({
  type: `alert.${m.state}`,
  timestamp: m.at,
  data: { condition: m.condition, title: m.title, detail: m.detail },
})
