/**
 * Reads a connection's settings from `POST /_standin/connections/{id}`'s body:
 * what is left out goes back to its default, anything malformed is named.
 */
import { INTEGRATIONS, isIntegration } from './integrations/index.ts'
import { type ConnectionSettings, DEFAULT_SETTINGS, type Json, PROFILES, type Profile } from './state.ts'

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const wholeAtLeast = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min
const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')

/** The settings, or a string saying what is wrong. */
export function parseSettings(body: unknown): ConnectionSettings | string {
  if (!isObject(body)) return 'body must be a JSON object'
  const d = DEFAULT_SETTINGS
  const {
    integration = d.integration,
    profile,
    profiles = [],
    rate_limit = d.rate_limit,
    request_limit = d.request_limit,
    latency_ms = d.latency_ms,
    properties = d.properties,
    picklists = d.picklists,
    page_size = d.page_size,
  } = body

  if (!isIntegration(integration)) {
    return `unknown integration ${JSON.stringify(integration)}; known: ${Object.keys(INTEGRATIONS).join(', ')}`
  }
  const named = [...(profile === undefined ? [] : [profile]), ...(Array.isArray(profiles) ? profiles : [profiles])]
  const unknown = named.filter((p) => !PROFILES.includes(p as Profile))
  if (unknown.length) return `unknown profile(s) ${JSON.stringify(unknown)}; known: ${PROFILES.join(', ')}`
  const restricted = [...new Set(named as Profile[])].filter((p) => p !== 'full')

  if (rate_limit !== null) {
    const { calls_per_second: second, calls_per_minute: minute, retry_after: header } = isObject(rate_limit) ? rate_limit : {}
    const ok = (v: unknown) => v === undefined || wholeAtLeast(v, 1)
    if (!isObject(rate_limit) || (second === undefined && minute === undefined) || !ok(second) || !ok(minute) || !(header === undefined || typeof header === 'boolean')) {
      return 'rate_limit must be {calls_per_second?, calls_per_minute?, retry_after?}, at least one limit, each a whole number >= 1, retry_after a boolean (or rate_limit null)'
    }
  }
  if (request_limit !== null) {
    const window = isObject(request_limit) ? (request_limit.window_seconds ?? null) : undefined
    if (!isObject(request_limit) || !wholeAtLeast(request_limit.calls, 0) || !(window === null || wholeAtLeast(window, 1))) {
      return 'request_limit must be {calls: whole number >= 0, window_seconds?: whole number >= 1 or null} (or null)'
    }
  }
  if (typeof latency_ms !== 'number' || !(latency_ms >= 0)) return 'latency_ms must be a number >= 0'
  if (!strings(properties)) return 'properties must be a list of strings'
  if (!isObject(picklists) || !Object.values(picklists).every((v) => strings(v) && v.length > 0)) {
    return 'picklists must map a field to a non-empty list of strings'
  }
  if (page_size !== null && !wholeAtLeast(page_size, 1)) return 'page_size must be a whole number >= 1 (or null)'

  return {
    integration,
    profiles: restricted.length ? restricted : ['full'],
    rate_limit:
      rate_limit === null
        ? null
        : Object.fromEntries(
            (['calls_per_second', 'calls_per_minute', 'retry_after'] as const).flatMap((k) => ((rate_limit as Json)[k] === undefined ? [] : [[k, (rate_limit as Json)[k] as number]])),
          ),
    request_limit:
      request_limit === null
        ? null
        : { calls: (request_limit as Json).calls as number, window_seconds: ((request_limit as Json).window_seconds as number | undefined) ?? null },
    latency_ms,
    properties,
    picklists: picklists as Record<string, string[]>,
    page_size: page_size as number | null,
  }
}
