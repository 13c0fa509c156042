/**
 * Who a created record belongs to (its `user_id`, README "Owner"): the source's owner plan
 * (lead/draft.ts OwnerPlan) read against the draft when the writer is about to create, never
 * for a record that exists. Rules run in order and the first that matches picks; when none
 * does, the plan's own pick, if it has one. A round robin takes its turn from a counter the
 * caller keeps (one per connection and list, in the connection's Durable Object), so that
 * writers of different people running at once still share the list fairly.
 */
import { countryCode } from '../lead/country'
import type { LeadDraft, Owner, OwnerPick, OwnerPlan, OwnerRule } from '../lead/draft'

/** The next turn (0, 1, 2…) of a round-robin list. */
export type Turn = (list: string[]) => Promise<number>

const fold = (v: string) => v.trim().toLowerCase()

/** The draft's values for a rule's `field`: an address part, a lead field, the email domains, else a custom field's value(s). */
function fieldValues(d: LeadDraft, field: string): string[] {
  const a = d.address
  const known: Record<string, (string | undefined)[]> = {
    country: [a?.countryCode],
    street: [a?.street],
    city: [a?.city],
    region: [a?.region],
    postal_code: [a?.postalCode],
    company_name: [d.companyName],
    title: [d.title],
    source: [d.source],
    email_domain: d.emails.map((e) => e.slice(e.lastIndexOf('@') + 1)),
  }
  if (Object.hasOwn(known, field)) return known[field]!.filter((v): v is string => !!v)
  const value = d.metadata.find((m) => m.slug === field)?.value
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String)
}

/** A rule matches when any of the draft's values is its `equals` or among its `in` (a country by its ISO code, text without case). */
function matches(d: LeadDraft, rule: OwnerRule): boolean {
  const norm = rule.field === 'country' ? (v: string) => countryCode(v) ?? fold(v) : fold
  const wanted = new Set((rule.equals !== undefined ? [rule.equals] : (rule.in ?? [])).map(norm))
  return fieldValues(d, rule.field).some((v) => wanted.has(norm(v)))
}

const describeRule = (r: OwnerRule, i: number) =>
  `rules[${i}]: ${r.field} ${r.equals !== undefined ? `equals ${JSON.stringify(r.equals)}` : `in ${JSON.stringify(r.in)}`}`

async function pick(p: OwnerPick, by: string, turn: Turn): Promise<Owner | undefined> {
  if (p.user_id) return { userId: p.user_id, by }
  const list = p.round_robin
  if (!list?.length) return undefined
  return { userId: list[(await turn(list)) % list.length]!, by: `${by}${by ? ', ' : ''}round robin` }
}

/** The owner for a record created from `d` under `plan`, and why; undefined when the plan picks no one for it. */
export async function chooseOwner(d: LeadDraft, plan: OwnerPlan | undefined, turn: Turn): Promise<Owner | undefined> {
  if (!plan) return undefined
  const rules = plan.rules ?? []
  for (const [i, rule] of rules.entries()) if (matches(d, rule)) return pick(rule, describeRule(rule, i), turn)
  return pick(plan, rules.length ? 'fallback' : '', turn).then((o) => o && { ...o, by: o.by || 'user_id' })
}
