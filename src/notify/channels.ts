/**
 * Channels, declared once (`[vars.CHANNELS.<name>]`) and named by sources (`notify = [...]`) and
 * by `ALERTS`. What grants posting (a Slack or Teams webhook URL, an outbound webhook's URL) is the
 * secret CHANNEL_URL_<NAME>; a `webhook` channel signs with CHANNEL_SECRET_<NAME> (`whsec_…`); an
 * `email` channel sends through the `send_email` binding to its `to` addresses. Validated at
 * start-up like the rest of the configuration: a mistake names its key and the fix.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { ConfigError, varLoader } from '../config'

/** What a `webhook` channel can be told; the others are told of written leads (and alerts) only. */
export const EVENTS = ['lead.written', 'submission.failed', 'submission.held'] as const
export type NotifyEvent = (typeof EVENTS)[number]

const nonBlank = z.string().trim().min(1)
const address = z.string().trim().email('must be an email address')
const channelName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a channel name is 1-64 letters, digits, "-" or "_"')

const channelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('slack') }),
  z.strictObject({ kind: z.literal('teams') }),
  z.strictObject({
    kind: z.literal('webhook'),
    /** The events it is sent (default all). */
    events: z.array(z.enum(EVENTS)).min(1).default([...EVENTS]),
  }),
  z.strictObject({
    kind: z.literal('email'),
    /** Verified destination addresses of Cloudflare Email Routing. */
    to: z.array(address).min(1),
    /** An address on a domain of yours with Email Routing on. */
    from: address,
    /** What the subject starts with. */
    subject: nonBlank.max(100).default('New lead'),
  }),
])
export type Channel = z.output<typeof channelSchema> & { name: string }

const channelsSchema = z.record(channelName, channelSchema).superRefine((channels, ctx) => {
  const vars = new Map<string, string>()
  for (const name of Object.keys(channels)) {
    const other = vars.get(channelVar('CHANNEL_URL', name))
    if (other) ctx.addIssue({ code: 'custom', path: [name], message: `"${other}" and "${name}" would share the secret ${channelVar('CHANNEL_URL', name)}: rename one` })
    vars.set(channelVar('CHANNEL_URL', name), name)
  }
})

/** `[vars.CHANNELS]` (or the var as a JSON string); throws ConfigError naming the bad key. */
const loadChannelTable = varLoader('CHANNELS', channelsSchema)

/** Every channel, by name. */
export const loadChannels = (env: object): Record<string, Channel> =>
  Object.fromEntries(Object.entries(loadChannelTable(env)).map(([name, c]) => [name, { ...c, name }]))

/** An unset var (varLoader passes `{}`) is no channel: ALERTS defaults to none. */
const alertsSchema = z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? [] : v), z.array(channelName))

/** `ALERTS = ["ops", …]`: the channels the operator's alerts go to. */
export const loadAlertChannels = varLoader('ALERTS', alertsSchema)

/** `<PREFIX>_<NAME>`: the name upper-cased, every character but a letter or digit as `_` (as for webhook secrets). */
export const channelVar = (prefix: 'CHANNEL_URL' | 'CHANNEL_SECRET', name: string): string => `${prefix}_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`

/** https only, except loopback over http (local development and tests). */
export function urlProblem(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'is not a URL'
  }
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost')) return undefined
  return 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)'
}

/** A `whsec_…` secret's HMAC key (base64 after the prefix), or undefined. */
export function signingKey(secret: string): Uint8Array | undefined {
  if (!secret.startsWith('whsec_')) return undefined
  try {
    const key = Uint8Array.from(atob(secret.slice(6)), (ch) => ch.charCodeAt(0))
    return key.length >= 16 ? key : undefined
  } catch {
    return undefined
  }
}

const secretError = (problem: string, variable: string) =>
  new ConfigError(`${variable}: ${problem}`, 'CHANNELS', [`the secret ${variable} (npx wrangler secret put ${variable})`])

/**
 * The whole notification configuration checked together: CHANNELS and ALERTS, every name a
 * source's `notify` or ALERTS gives is a channel, and the channels' secrets that are set are
 * usable. A secret that is not set is no start-up error (secrets are set after a deploy): the
 * channel then fails, and the console says which secret to set.
 */
export function checkChannels(env: object, notifyOf: { key: string; where: string; names: string[] }[]): void {
  const channels = loadChannels(env)
  const missing = (names: string[]) => names.filter((n) => !Object.hasOwn(channels, n))
  for (const s of notifyOf) {
    const unknown = missing(s.names)
    if (unknown.length) throw new ConfigError(`${s.key}: no channel ${unknown.map((n) => `"${n}"`).join(', ')}: declare it as [vars.CHANNELS.${unknown[0]}] or remove it`, 'CHANNELS', [s.where, '[vars.CHANNELS.<name>] in wrangler.toml'])
  }
  const alerts = loadAlertChannels(env)
  const unknown = missing(alerts)
  if (unknown.length) throw new ConfigError(`ALERTS: no channel ${unknown.map((n) => `"${n}"`).join(', ')}: declare it as [vars.CHANNELS.${unknown[0]}] or remove it`, 'ALERTS', ['[vars] in wrangler.toml'])
  const vars = env as Record<string, unknown>
  for (const c of Object.values(channels)) {
    if (c.kind === 'email') continue
    const url = vars[channelVar('CHANNEL_URL', c.name)]
    const problem = typeof url === 'string' && url ? urlProblem(url) : undefined
    if (problem) throw secretError(problem, channelVar('CHANNEL_URL', c.name))
    const secret = vars[channelVar('CHANNEL_SECRET', c.name)]
    if (c.kind === 'webhook' && typeof secret === 'string' && secret && !signingKey(secret)) {
      throw secretError('must be a Standard Webhooks secret: "whsec_" then at least 16 bytes in base64', channelVar('CHANNEL_SECRET', c.name))
    }
  }
}
