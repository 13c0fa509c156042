/**
 * Reads back a lead an ad platform's webhook only named (lead/message.ts LeadRef), for the
 * consumer: index.ts hands `readLead` to it, since sources sit above delivery. LinkedIn: its lead
 * form response and form (readLinkedIn, below). Meta: `GET
 * <graph_api_url>/<leadgen_id>?fields=…` with the page token in WEBHOOK_ACCESS_TOKEN_<ID>, the
 * lead mapped by the preset (presets/meta-lead-ads.ts). Graph's errors decide what the
 * submission does: a lead that no longer exists is ignored; a rate limit waits; a token Graph
 * refuses (190) holds the source's leads, spending no attempt, with an alert naming the fix.
 */
import { ConfigError, deliverySettings } from '../config'
import type { LeadRead, LeadReader, LeadRef } from '../lead/message'
import { log } from '../log'
import { describeStorageError } from '../store/schema'
import { clearTokenAlert, raiseTokenAlert } from '../store/token-alerts'
import { withConsent } from './consent'
import { formIdOf, type LinkedInConfig, linkedInLead } from './presets/linkedin-lead-gen'
import { LEAD_FIELDS_READ, type MetaConfig, metaLead, parseKeepingDigits } from './presets/meta-lead-ads'
import { obj } from './presets/preset'
import { endpointOf, secretVar } from './registry'

/** The start of the reason a held lead shows: the console's alert finds the rows waiting for a token by it. */
export const TOKEN_REFUSED = 'token refused'

/** Graph's rate-limit codes (application, user, page, API-specific). */
export const RATE_LIMITED = new Set([4, 17, 32, 613])
/** Graph's "a lead that does not exist (deleted, or never was)": code 100, subcode 33. */
const NO_SUCH_OBJECT = { code: 100, subcode: 33 }
const TIMEOUT_MS = 10_000

const META_TOKEN = "a page access token that doesn't expire"
const LINKEDIN_TOKEN = 'a new access token of a member with r_marketing_leadgen_automation (LinkedIn\'s last 60 days)'

/** What was refused and the fix: the held lead's reason, and the console's alert for its source. */
export const tokenFix = (variable: string, what: string, kind = META_TOKEN): string =>
  `${what}. Replace it: \`npx wrangler secret put ${variable}\` with ${kind}; the held leads are written once it works`

const tokenAlert = (variable: string, what: string, seconds: number, kind = META_TOKEN): LeadRead => ({
  wait: `${TOKEN_REFUSED}: ${tokenFix(variable, what, kind)} (next try in ${seconds} s)`,
  retryAfter: seconds,
  alert: true,
})

/** The page access token of endpoint `source` (WEBHOOK_ACCESS_TOKEN_<ID>), and the variable it is read from. */
export function accessToken(env: object, source: string): { variable: string; token: string | undefined } {
  const variable = secretVar('WEBHOOK_ACCESS_TOKEN', source)
  return { variable, token: ((env as Record<string, unknown>)[variable] as string | undefined)?.trim() || undefined }
}

/** Graph's error code in a body Graph answered with (NaN when there is none). */
export const graphCode = (body: Record<string, unknown> | undefined): { code: number; subcode: number } => {
  const error = obj(body?.error)
  return { code: Number(error?.code), subcode: Number(error?.error_subcode) }
}

/** Graph refused the token itself (190: expired or revoked) or the permission to read leads (10, 200, or a 403). */
export const tokenRefused = (status: number, code: number): boolean => code === 190 || code === 10 || code === 200 || status === 403

/**
 * Reads the lead back, and keeps the source's token alert (store/token-alerts.ts) true: raised when the platform
 * refuses the token, cleared by a read it answers. Storage trouble there never changes what the read gave.
 */
export const readLead: LeadReader = async (env, origin, ref, receivedAt) => {
  const read = await readFromPlatform(env, origin, ref, receivedAt)
  const refused = 'wait' in read && read.alert && read.wait.startsWith(`${TOKEN_REFUSED}: `)
  const answered = 'draft' in read || 'ignored' in read
  if (refused || answered) {
    const reason = refused ? read.wait.slice(TOKEN_REFUSED.length + 2).replace(/ \(next try in \d+ s\)$/, '') : ''
    await (refused ? raiseTokenAlert(env.DB, origin.source, reason) : clearTokenAlert(env.DB, origin.source)).catch((error: unknown) =>
      log('error', 'token alert not updated', { source: origin.source, error: describeStorageError(error) }),
    )
  }
  return read
}

const readFromPlatform: LeadReader = async (env, origin, ref, receivedAt) => {
  const { DELIVERY_BASE_DELAY_SECONDS: base } = deliverySettings(env)
  // A token problem is the operator's to fix: tried again every few minutes (every 2 min at the default base delay).
  const tokenWait = Math.min(900, base * 12)
  let endpoint
  try {
    endpoint = endpointOf(env, origin.source)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return { wait: `configuration error: ${error.message}`, retryAfter: tokenWait, alert: true }
  }
  const preset = (endpoint?.config as { preset?: string } | undefined)?.preset
  if (preset === 'linkedin-lead-gen') return readLinkedIn(env, origin.source, endpoint!.config as LinkedInConfig, ref, receivedAt, { base, tokenWait })
  if (!endpoint || preset !== 'meta-lead-ads') {
    return { ignored: `source "${origin.source}" no longer reads leads back from its platform` }
  }
  const config = endpoint.config as MetaConfig
  const { variable, token } = accessToken(env, origin.source)
  if (!token) return tokenAlert(variable, `${variable} is not set, so leads of "${origin.source}" can't be read from Facebook`, tokenWait)
  let res: Response
  try {
    const url = `${config.graph_api_url}/${encodeURIComponent(ref.id)}?fields=${LEAD_FIELDS_READ}`
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (error) {
    return { wait: `Facebook did not answer (${(error as Error).name})`, retryAfter: base * 6 }
  }
  const text = await res.text()
  let body: Record<string, unknown> | undefined
  try {
    body = obj(parseKeepingDigits(text))
  } catch {
    body = undefined
  }
  if (res.ok && body && !body.error) {
    const lead = await withConsent(config.consent, metaLead(config, body, ref), receivedAt)
    return lead.draft ? { draft: lead.draft } : { ignored: lead.ignored ?? 'no-contact' }
  }
  // Graph's error: only its code and subcode are kept (its message may quote what was asked).
  const error = obj(body?.error)
  const code = Number(error?.code)
  const subcode = Number(error?.error_subcode)
  log('warn', 'Facebook lead read refused', { source: origin.source, status: res.status, code, subcode })
  if (code === 190) return tokenAlert(variable, `Facebook refused ${variable} (OAuth error 190: expired or revoked)`, tokenWait)
  if (RATE_LIMITED.has(code)) return { wait: `Facebook's rate limit (Graph error ${code})`, retryAfter: base * 6 }
  if (code === NO_SUCH_OBJECT.code && subcode === NO_SUCH_OBJECT.subcode) {
    return { ignored: 'the lead no longer exists on Facebook (Graph error 100/33: deleted, or not readable with this token)' }
  }
  if (code === 10 || code === 200 || res.status === 403) {
    return tokenAlert(variable, `Facebook refused ${variable} the lead (Graph error ${code}: a permission is missing, e.g. leads_retrieval)`, tokenWait)
  }
  return { wait: `Facebook answered ${res.status}${Number.isFinite(code) ? ` (Graph error ${code})` : ''}`, retryAfter: base * 6 }
}

/** A LinkedIn answer's body as JSON (undefined when it is none). */
async function jsonOf(res: Response): Promise<Record<string, unknown> | undefined> {
  try {
    return obj(parseKeepingDigits(await res.text()))
  } catch {
    return undefined
  }
}

/**
 * LinkedIn (learn.microsoft.com linkedin/marketing/lead-sync/leadsync): the lead form response, then its form (whose
 * questions say which answer is which predefined field), with the member's token in WEBHOOK_ACCESS_TOKEN_<ID>. A 401
 * (the token expired: LinkedIn's last 60 days) or 403 (a permission is missing) holds the source's leads with the fix;
 * 404: the lead is gone (deleted); 429 and 5xx wait.
 */
async function readLinkedIn(env: Env, source: string, config: LinkedInConfig, ref: LeadRef, receivedAt: Date, { base, tokenWait }: { base: number; tokenWait: number }): Promise<LeadRead> {
  const { variable, token } = accessToken(env, source)
  if (!token) return tokenAlert(variable, `${variable} is not set, so leads of "${source}" can't be read from LinkedIn`, tokenWait, LINKEDIN_TOKEN)
  const headers = { authorization: `Bearer ${token}`, 'linkedin-version': config.api_version, 'x-restli-protocol-version': '2.0.0' }
  const get = async (path: string): Promise<{ res: Response; body?: Record<string, unknown> } | { failed: string }> => {
    try {
      const res = await fetch(`${config.api_url}/${path}`, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) })
      return { res, body: await jsonOf(res) }
    } catch (error) {
      return { failed: (error as Error).name }
    }
  }
  const refused = (what: string, status: number): LeadRead => {
    // Only the status is kept: LinkedIn's message may quote what was asked.
    log('warn', 'LinkedIn lead read refused', { source, what, status })
    if (status === 401) return tokenAlert(variable, `LinkedIn refused ${variable} (401: expired or revoked)`, tokenWait, LINKEDIN_TOKEN)
    if (status === 403) return tokenAlert(variable, `LinkedIn refused ${variable} the ${what} (403: a permission is missing, e.g. r_marketing_leadgen_automation)`, tokenWait, LINKEDIN_TOKEN)
    if (status === 404 && what === 'lead') return { ignored: 'the lead no longer exists on LinkedIn (404: deleted)' }
    if (status === 429) return { wait: 'LinkedIn\'s rate limit (429)', retryAfter: base * 6 }
    return { wait: `LinkedIn answered ${status} to the ${what} read`, retryAfter: base * 6 }
  }
  const lead = await get(`leadFormResponses/${encodeURIComponent(ref.id)}`)
  if ('failed' in lead) return { wait: `LinkedIn did not answer (${lead.failed})`, retryAfter: base * 6 }
  if (!lead.res.ok || !lead.body) return refused('lead', lead.res.status)
  const formId = formIdOf(lead.body.versionedLeadGenFormUrn) ?? ref.hints?.form_id
  let form: Record<string, unknown> | undefined
  if (formId && formId !== 'unknown') {
    const read = await get(`leadForms/${encodeURIComponent(formId)}`)
    if ('failed' in read) return { wait: `LinkedIn did not answer (${read.failed})`, retryAfter: base * 6 }
    if (!read.res.ok || !read.body) return refused('form', read.res.status)
    form = read.body
  }
  const mapped = await withConsent(config.consent, linkedInLead(config, lead.body, form, ref), receivedAt)
  return mapped.draft ? { draft: mapped.draft } : { ignored: mapped.ignored ?? 'no-contact' }
}
