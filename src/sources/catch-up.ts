/**
 * Meta Lead Ads catch-up: leads whose webhook never came (page unsubscribed, app down, token
 * rotated) still arrive, once. A cron (CATCH_UP_CRON, index.ts) reads the leads of each form a
 * meta-lead-ads endpoint lists in `forms`, created since the newest one seen before (`GET
 * <graph_api_url>/<form_id>/leads` filtered on `time_created`, Graph's cursor paging, the page
 * token in WEBHOOK_ACCESS_TOKEN_<ID>), and accepts each exactly as the webhook does: the same
 * accept path, keyed by the same `leadgen_id`, queued as a lead to read back. So a lead seen
 * both ways is written once, and one already accepted costs no call. The watermark per form
 * (store/catch-up.ts) moves only once a read's every lead is durably queued; Graph's errors
 * stop the read and leave it (a refused token until it is replaced, a rate limit until the
 * next run).
 */
import { ConfigError } from '../config'
import { acceptOnce } from '../delivery/accept'
import { log } from '../log'
import { markOf, moveMark } from '../store/catch-up'
import { describeStorageError } from '../store/schema'
import { clearTokenAlert, raiseTokenAlert } from '../store/token-alerts'
import { accessToken, graphCode, RATE_LIMITED, tokenFix, tokenRefused } from './lead-reader'
import { type LeadgenChange, type MetaConfig, metaLeadAds, parseKeepingDigits } from './presets/meta-lead-ads'
import { obj, str } from './presets/preset'
import { loadWebhooks } from './registry'

/** Every 15 minutes (wrangler.toml `crons`): a lead whose webhook never came is in the CRM within about that. */
export const CATCH_UP_CRON = '*/15 * * * *'
/** A form never read before is read from this far back (a day): leads from before lead-intake was set up are not pulled in. */
export const FIRST_LOOKBACK_SECONDS = 86_400
/**
 * Each read starts this much before the newest lead seen: a lead Graph lists a little late, or in the
 * same second as the last one, is still found; the ones met again are duplicates, acknowledged quietly.
 */
export const OVERLAP_SECONDS = 300
const PAGE_SIZE = 100
/** Pages per form and run at most (10,000 leads): past this the read stops without moving the mark, and says so. */
const MAX_PAGES = 100
const TIMEOUT_MS = 10_000

/** What one form's read did, for the log (ids and counts only). */
export interface FormCatchUp {
  source: string
  form: string
  /** Leads accepted now (their webhook never came), and leads already accepted before. */
  accepted: number
  duplicates: number
  /** Why the read stopped before its end (its mark is left where it was), if it did. */
  stopped?: string
}

type Stop = { stop: string; source?: true; token?: true }

/** One page of Graph's form leads listing, or why the read stops (`source`: every form of this endpoint stops too). */
async function page(url: string, token: string, variable: string): Promise<{ data: unknown[]; after?: string } | Stop> {
  let res: Response
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (error) {
    return { stop: `Facebook did not answer (${(error as Error).name})`, source: true }
  }
  let body: Record<string, unknown> | undefined
  try {
    body = obj(parseKeepingDigits(await res.text()))
  } catch {
    body = undefined
  }
  if (res.ok && body && !body.error && Array.isArray(body.data)) {
    const paging = obj(body.paging)
    // `next` is there only while there is more; its cursor is `paging.cursors.after` (graph-api/results).
    const after = paging?.next ? str(obj(paging.cursors)?.after) : undefined
    return { data: body.data, ...(after ? { after } : {}) }
  }
  // Only Graph's code is kept: its message may quote what was asked.
  const { code } = graphCode(body)
  if (tokenRefused(res.status, code)) return { stop: `Facebook refused ${variable} (Graph error ${Number.isFinite(code) ? code : res.status})`, source: true, token: true }
  if (RATE_LIMITED.has(code)) return { stop: `Facebook's rate limit (Graph error ${code})`, source: true }
  return { stop: `Facebook answered ${res.status}${Number.isFinite(code) ? ` (Graph error ${code})` : ''}` }
}

/** Reads one form's leads since its mark and accepts each; moves the mark once all are queued. */
type FormRun = FormCatchUp & { stopSource?: true; tokenRefused?: true }

async function catchUpForm(env: Env, ctx: ExecutionContext, source: string, config: MetaConfig, form: string, token: string, variable: string, now: number): Promise<FormRun> {
  const report: FormRun = { source, form, accepted: 0, duplicates: 0 }
  let mark = await markOf(env.DB, source, form)
  if (mark === undefined) {
    // A new form: its starting point is kept at once, so a first read that stops is retried from the same point, not a later one.
    mark = Math.floor(now / 1000) - FIRST_LOOKBACK_SECONDS
    await moveMark(env.DB, source, form, mark, now)
  }
  const filtering = JSON.stringify([{ field: 'time_created', operator: 'GREATER_THAN', value: mark - OVERLAP_SECONDS }])
  const base = `${config.graph_api_url}/${encodeURIComponent(form)}/leads?fields=id,created_time,form_id,ad_id&filtering=${encodeURIComponent(filtering)}&limit=${PAGE_SIZE}`
  let seen = mark
  let after: string | undefined
  for (let n = 0; ; n++) {
    if (n === MAX_PAGES) return { ...report, stopped: `more than ${MAX_PAGES * PAGE_SIZE} leads since the last run; the rest next run` }
    const got = await page(after ? `${base}&after=${encodeURIComponent(after)}` : base, token, variable)
    if ('stop' in got) return { ...report, stopped: got.stop, ...(got.source ? { stopSource: true as const } : {}), ...(got.token ? { tokenRefused: true as const } : {}) }
    for (const item of got.data) {
      const lead = obj(item)
      const id = str(lead?.id)
      if (!lead || !id || !/^\d{1,32}$/.test(id)) continue
      const created = Math.floor(Date.parse(str(lead.created_time) ?? '') / 1000)
      // The webhook's notification, as Meta would have sent it: what a replay maps again.
      const change: LeadgenChange = { leadgen_id: id, form_id: form, ...(Number.isFinite(created) ? { created_time: String(created) } : {}) }
      if (typeof lead.ad_id === 'string' && /^\d{1,32}$/.test(lead.ad_id)) change.ad_id = lead.ad_id
      const mapped = metaLeadAds.map(config, change, source)
      if (!mapped.fetch) continue
      try {
        const accepted = await acceptOnce(
          { env, executionCtx: ctx },
          { source, form: mapped.form, eventId: id },
          { fetch: mapped.fetch, input: { kind: 'webhook', body: JSON.stringify(change) } },
          undefined,
          { quiet: true },
        )
        if (accepted.status === 'accepted') report.accepted += 1
        else report.duplicates += 1
      } catch (error) {
        // Not queued (the queue or D1 refused, or its webhook is being accepted right now): read again next run.
        return { ...report, stopped: `a lead could not be queued (${describeStorageError(error)})` }
      }
      if (Number.isFinite(created)) seen = Math.max(seen, created)
    }
    after = got.after
    if (!after) break
  }
  await moveMark(env.DB, source, form, seen, now)
  return report
}

/** One run: every form of every meta-lead-ads endpoint that lists `forms`. Never throws for one form's or endpoint's trouble. */
export async function catchUp(env: Env, ctx: ExecutionContext, now = Date.now()): Promise<FormCatchUp[]> {
  let endpoints
  try {
    endpoints = loadWebhooks(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    log('error', 'catch-up skipped: configuration error', { error: error.message })
    return []
  }
  const reports: FormCatchUp[] = []
  for (const [source, raw] of Object.entries(endpoints)) {
    if (raw.preset !== 'meta-lead-ads') continue
    const config = raw as unknown as MetaConfig
    if (!config.forms?.length) continue
    const { variable, token } = accessToken(env, source)
    if (!token) {
      log('error', 'catch-up skipped: no page access token', { source, variable })
      reports.push(...config.forms.map((form) => ({ source, form, accepted: 0, duplicates: 0, stopped: `${variable} is not set` })))
      continue
    }
    for (const form of config.forms) {
      let r: FormRun
      try {
        r = await catchUpForm(env, ctx, source, config, form, token, variable, now)
      } catch (error) {
        // D1 unreadable for the mark: this form waits for the next run.
        r = { source, form, accepted: 0, duplicates: 0, stopped: `storage: ${describeStorageError(error)}` }
      }
      const { stopSource, tokenRefused: refused, ...report } = r
      reports.push(report)
      log(report.stopped ? 'warn' : 'info', 'catch-up read', { ...report })
      // The console's alert for the source's token (store/token-alerts.ts): raised on a refusal, cleared by a read that worked.
      if (refused || !report.stopped) {
        await (refused ? raiseTokenAlert(env.DB, source, tokenFix(variable, report.stopped!)) : clearTokenAlert(env.DB, source)).catch((error: unknown) =>
          log('error', 'token alert not updated', { source, error: describeStorageError(error) }),
        )
      }
      // The token or the rate limit is the endpoint's: its other forms would meet the same answer.
      if (stopSource) break
    }
  }
  return reports
}
