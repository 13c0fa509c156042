/**
 * A replay maps the stored input again under today's configuration, so that
 * "fix the form's config, redeploy, replay" does what the README promises.
 * The result is what the source's own route would make of the same input,
 * except for consent: that stays what the person gave at receipt.
 */
import { formById } from '../config'
import { problem } from '../http/problem'
import type { Origin, Payload } from '../lead/message'
import { consentAsGiven, consentSha256, withConsent } from './consent'
import { toDraft } from './form'
import { endpointOf } from './registry'

const notReplayable = (detail: string) => problem(409, 'not-replayable', 'This submission cannot be replayed as it is', { detail })

/**
 * The payload to replay: the stored input mapped again, or the stored draft
 * when no input was kept (rows from before this, or inputs too large to keep).
 * Throws a problem (409, or the source's own 422) when today's configuration
 * no longer makes a lead of it; nothing is queued then.
 */
export async function remap(env: object, origin: Origin, stored: Payload, receivedAt: Date): Promise<Payload> {
  // A lead read back from its platform (payload.fetch) is read again when the replay is delivered, under today's token and mapping.
  if (stored.fetch) return stored
  const input = stored.input
  if (!input) return stored
  if (input.kind === 'form') {
    const config = origin.source === 'form' ? formById(env, origin.form) : undefined
    if (!config) throw notReplayable(`Form "${origin.form}" is no longer configured.`)
    const sha256 = await consentSha256(config.consent)
    const draft = toDraft(config, new Map(input.fields), { url: input.url, referer: input.referer }, origin.form, sha256, receivedAt)
    return { draft: consentAsGiven(draft, stored.draft.consent, config.consent), input }
  }
  // Every registered source maps its stored payload (the body, or what its `read` made of it) again.
  const endpoint = origin.source === 'form' ? undefined : endpointOf(env, origin.source)
  if (!endpoint) throw notReplayable(`Source "${origin.source}" is no longer configured.`)
  const lead = await withConsent(endpoint.config.consent, endpoint.source.map(endpoint.config, JSON.parse(input.body), origin.source), receivedAt)
  if (!lead.draft) throw notReplayable(`Under today's configuration this delivery is ignored (${lead.ignored}).`)
  return { draft: consentAsGiven(lead.draft, stored.draft.consent, endpoint.config.consent), input }
}
