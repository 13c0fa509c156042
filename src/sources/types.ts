/**
 * The webhook source contract. Every sender (Typeform, Stripe, each preset) is one module
 * exporting one WebhookSource; sources/registry.ts mounts them at `/webhooks/<id>`, and
 * sources/webhooks.ts runs every delivery through the same steps: secret → verify →
 * read → map → event id → accept once (delivery/accept.ts).
 */
// zod's v3 API, as in config.ts: the Unified SDK bundles it, so no second zod.
import type { z } from 'zod/v3'
import type { ConsentConfig } from '../config'
import type { LeadDraft, WritePlan } from '../lead/draft'
import type { LeadRef } from '../lead/message'
import type { Check, EventKey } from './verify/types'

export type { Check, EventKey } from './verify/types'

/**
 * What a source makes of a verified payload: a lead to queue, or a reason to acknowledge it
 * without one. `form` is what it came from (a form id, an event type): the submission's `Origin.form`.
 * `consented`: whether the answer its `consent.field` names gives consent (sources/consent.ts
 * then records it, or ignores the delivery when consent is required and not given).
 */
export type WebhookLead = { form: string; consented?: boolean } & (
  | { draft: LeadDraft; ignored?: undefined; fetch?: undefined; erase?: undefined }
  | { ignored: string; draft?: undefined; fetch?: undefined; erase?: undefined }
  /** An ad platform's notification names the lead only: the consumer reads it back (lead/message.ts LeadReader). */
  | { fetch: LeadRef; draft?: undefined; ignored?: undefined; erase?: undefined }
  /** The platform asks that the lead it names be erased (LinkedIn's DELETED): its person is, as far as the lead leads to them (sources/webhooks.ts). */
  | { erase: LeadRef; draft?: undefined; ignored?: undefined; fetch?: undefined }
)

/** One delivery as it arrived. */
export interface Received {
  /** The raw body: signatures are over these bytes. */
  body: ArrayBuffer
  headers: Headers
  /** The path segment after the endpoint id: a secret token in the URL (Jotform), else undefined. */
  token?: string
}

/** What every source's configuration carries (README "What gets written"), and what it asks consent for, if it does (README "Privacy"). */
export type SourceConfig = Pick<WritePlan, 'write' | 'company' | 'timeline' | 'connection'> & { consent?: ConsentConfig; notify?: string[] }

/** One sender. `C` is its endpoint configuration (any, in the registry, which holds every kind). */
export interface WebhookSource<C extends SourceConfig = any> {
  /** The sender, as people know it: "Typeform", "Cal.com". Names it in answers and logs. */
  name: string
  /** One endpoint's settings, validated at start-up with every default filled in. */
  schema: z.ZodType<C, z.ZodTypeDef, unknown>
  /**
   * How a delivery proves its origin. `signature`: a header over the raw body, named by
   * `header` (missing or wrong: 401; unreadable: 400). `url-token`: a secret in the URL
   * (`/webhooks/<id>/<token>`); a wrong one is answered like an unknown endpoint, 404.
   * `body-key`: a secret the sender echoes in the JSON body, named by `field` (missing or
   * wrong: 401; a body that is no JSON object: 400).
   */
  auth: { kind: 'signature'; header: string } | { kind: 'url-token' } | { kind: 'body-key'; field: string }
  /**
   * A sender that proves the endpoint before it posts (Meta's `hub.challenge`): `GET /webhooks/<id>`
   * is answered with what `answer` returns (200 text/plain, or JSON for `{ json }`: LinkedIn's challenge), or 403
   * when it returns undefined (a problem it throws is answered as such).
   * `secret`: the prefix of the variable it checks against (`WEBHOOK_TOKEN` → WEBHOOK_TOKEN_<ID>).
   */
  subscribe?: { secret: string; answer(query: URLSearchParams, secrets: string[]): Promise<string | { json: unknown } | undefined> }
  /** Checks the delivery against the endpoint's secrets (any of them: rotation). */
  verify(secrets: string[], received: Received, config: C): Promise<Check>
  /**
   * The payload as JSON (what a replay maps again); absent: the body is JSON. Throws a
   * 400 problem when the body is not what this sender posts.
   */
  read?(received: Received): Promise<unknown>
  /**
   * The leads of a delivery that carries several (Meta batches them): each part is keyed
   * (`eventOf`), mapped and accepted on its own. Absent: the payload is one delivery. Throws a
   * 400 problem, before anything is accepted, when a part is not one of this sender's.
   */
  split?(payload: unknown): unknown[]
  /** The delivery's idempotency key and event type, from its headers or its (verified) payload (a part of it, with `split`). */
  eventOf(received: Received, payload: unknown): Promise<EventKey>
  /**
   * A verified payload → a lead, or why not; a 400 problem when it is none of this sender's
   * payloads. Pure, so a replay maps a stored payload again under today's `config`.
   * `endpoint` is the id it was posted to.
   */
  map(config: C, payload: unknown, endpoint: string): WebhookLead
}
