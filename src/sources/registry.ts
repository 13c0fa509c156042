/**
 * Every webhook source, and the endpoints they are mounted at (`/webhooks/<id>`):
 * - the built-ins at their own ids, each with its own var and secret (`typeform`: `[vars.TYPEFORM]`,
 *   TYPEFORM_WEBHOOK_SECRET; `stripe`: `[vars.STRIPE]`, STRIPE_WEBHOOK_SECRET);
 * - one endpoint per `[vars.WEBHOOKS.<id>]` table, of the preset it names, signed with the
 *   secret `WEBHOOK_SECRET_<ID>`.
 * Adding a source is its module (types.ts says what it exports) and one line here.
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import { z } from 'zod/v3'
import { BUILT_IN_WEBHOOKS, formById, varLoader } from '../config'
import type { Origin } from '../lead/message'
import { calcom } from './presets/calcom'
import { calendly } from './presets/calendly'
import { googleAds } from './presets/google-ads'
import { jotform } from './presets/jotform'
import { linkedInLeadGen } from './presets/linkedin-lead-gen'
import { metaLeadAds } from './presets/meta-lead-ads'
import { standardWebhooks } from './presets/standard-webhooks'
import { tally } from './presets/tally'
import { webflow } from './presets/webflow'
import type { SourceConfig, WebhookSource } from './types'
import { stripe } from './webhook/stripe'
import { typeform } from './webhook/typeform'

/** The built-ins: id → the source, its config var's loader, its secret. */
const BUILT_IN: Record<(typeof BUILT_IN_WEBHOOKS)[number], { source: WebhookSource; config: string; secret: string }> = {
  typeform: { source: typeform, config: 'TYPEFORM', secret: 'TYPEFORM_WEBHOOK_SECRET' },
  stripe: { source: stripe, config: 'STRIPE', secret: 'STRIPE_WEBHOOK_SECRET' },
}
const builtInLoaders = Object.fromEntries(Object.entries(BUILT_IN).map(([id, b]) => [id, varLoader(b.config, b.source.schema)]))

/** The presets a `[vars.WEBHOOKS.<id>]` table may name with `preset = "…"`. */
export const PRESETS = { 'standard-webhooks': standardWebhooks, tally, calendly, 'cal.com': calcom, webflow, jotform, 'google-ads': googleAds, 'meta-lead-ads': metaLeadAds, 'linkedin-lead-gen': linkedInLeadGen }

/** `<PREFIX>_<ID>` (WEBHOOK_SECRET_<ID>, WEBHOOK_TOKEN_<ID>, WEBHOOK_ACCESS_TOKEN_<ID>): the id upper-cased, every character but a letter or digit as `_`. */
export const secretVar = (prefix: string, id: string): string => `${prefix}_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`

/** `WEBHOOK_SECRET_<ID>`: the secret a delivery is verified with. */
export const secretName = (id: string): string => secretVar('WEBHOOK_SECRET', id)

const endpointId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an endpoint id is 1-64 letters, digits, "-" or "_"')
  .refine((id) => !Object.hasOwn(BUILT_IN, id.toLowerCase()), (id) => ({ message: `"${id}" is reserved for the built-in /webhooks/${id.toLowerCase()}` }))

const presetSchemas = Object.values(PRESETS).map((p) => p.schema) as unknown as [z.AnyZodObject, ...z.AnyZodObject[]]

const webhooksSchema = z.record(endpointId, z.discriminatedUnion('preset', presetSchemas)).superRefine((endpoints, ctx) => {
  const secrets = new Map<string, string>()
  for (const id of Object.keys(endpoints)) {
    const other = secrets.get(secretName(id))
    if (other) ctx.addIssue({ code: 'custom', path: [id], message: `"${other}" and "${id}" would share the secret ${secretName(id)}: rename one` })
    secrets.set(secretName(id), id)
  }
})

/** `[vars.WEBHOOKS]` (or the var as a JSON string), validated; throws ConfigError naming the bad key. */
export const loadWebhooks = varLoader('WEBHOOKS', webhooksSchema) as (env: object) => Record<string, SourceConfig & { preset: keyof typeof PRESETS }>

/** One mounted endpoint. */
export interface Endpoint {
  id: string
  source: WebhookSource
  config: SourceConfig
  /** The variable holding its secret(s): TYPEFORM_WEBHOOK_SECRET, WEBHOOK_SECRET_SIGNUP. */
  secret: string
  /** For a built-in, its config var; undefined for a configured endpoint. */
  builtIn?: string
}

/** The endpoint at `/webhooks/<id>`, if any (own keys only: `/webhooks/constructor` is just unknown). Throws ConfigError on a bad config. */
export function endpointOf(env: object, id: string): Endpoint | undefined {
  if (Object.hasOwn(BUILT_IN, id)) {
    const b = BUILT_IN[id as keyof typeof BUILT_IN]
    return { id, source: b.source, config: builtInLoaders[id]!(env), secret: b.secret, builtIn: b.config }
  }
  const configured = loadWebhooks(env)
  if (!Object.hasOwn(configured, id)) return undefined
  const config = configured[id]!
  return { id, source: PRESETS[config.preset], config, secret: secretName(id) }
}

/** Every endpoint: the built-ins, then each configured one. Validates every source's config (start-up runs this). */
export const endpoints = (env: object): Endpoint[] => [...Object.keys(BUILT_IN), ...Object.keys(loadWebhooks(env))].map((id) => endpointOf(env, id)!)

/** The channels a submission's source names in `notify` (README "Notifications"): a form's, or its webhook endpoint's. */
export function notifyOf(env: object, origin: Origin): string[] {
  if (origin.source === 'form') return formById(env, origin.form)?.notify ?? []
  return endpointOf(env, origin.source)?.config.notify ?? []
}
