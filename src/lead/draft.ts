/**
 * The LeadDraft: where sources and the CRM writer meet. A source turns its
 * input into a draft; the writer turns a draft into CRM calls. Neither knows
 * the other, so this file is the whole contract between them.
 */

/** Lead fields a source may fill. `title`, `department` and `website` have no CRM column of their own on every CRM; see crm/people.ts. */
export const LEAD_FIELDS = [
  'first_name',
  'last_name',
  'name',
  'email',
  'phone',
  'company_name',
  'title',
  'department',
  'website',
  // The postal address (README "Addresses"): the record's `address`, its country also the phones' default country.
  'street',
  'city',
  'region',
  'postal_code',
  'country',
] as const
export type LeadField = (typeof LEAD_FIELDS)[number]

/** Unified's custom-field formats. */
export const METADATA_FORMATS = [
  'TEXT',
  'TEXTAREA',
  'NUMBER',
  'DATE',
  'BOOLEAN',
  'URL',
  'SINGLE_SELECT',
  'MULTIPLE_SELECT',
  'CURRENCY',
  'PRICE',
  'YES_NO',
  'FILE',
] as const
export type MetadataFormat = (typeof METADATA_FORMATS)[number]

/**
 * How an incoming value treats a lead that already exists:
 * - fill_if_empty: write only where the CRM has nothing
 * - always: overwrite (a blank incoming value still never overwrites)
 * - never: leave the CRM's value alone
 * - append: add to the CRM's list, never remove (lists only)
 */
export const MERGE_RULES = ['fill_if_empty', 'always', 'never', 'append'] as const
export type MergeRule = (typeof MERGE_RULES)[number]

export type MergeField =
  | 'first_name'
  | 'last_name'
  | 'name'
  | 'company_name'
  | 'title'
  | 'department'
  | 'emails'
  | 'telephones'
  | 'link_urls'
  | 'metadata'
  | 'source'
  | 'status'
  | 'address'

export type MergeRules = Record<MergeField, MergeRule>

/** Safe defaults: never wipe good CRM data with a later form. */
export const DEFAULT_MERGE_RULES: MergeRules = {
  first_name: 'fill_if_empty',
  last_name: 'fill_if_empty',
  name: 'fill_if_empty',
  company_name: 'fill_if_empty',
  title: 'fill_if_empty',
  department: 'fill_if_empty',
  emails: 'append',
  telephones: 'append',
  link_urls: 'append',
  metadata: 'always', // upserted by slug; other slugs are kept
  source: 'never',
  status: 'never',
  address: 'fill_if_empty', // the address as a whole: one the record has is never mixed with parts of another
}

export type MetadataValue = string | number | boolean | string[]

export interface LeadMetadata {
  slug: string
  value: MetadataValue
  format: MetadataFormat
  /**
   * This value is the time the value of custom field `stampOf` was given (the consent's
   * given-at, of its version): while the record holds that same value, the record's time
   * is kept, and the stamp is not part of what makes two submissions differ.
   */
  stampOf?: string
  /**
   * A first touch (lead/attribution.ts): where the record already holds a value under this slug,
   * it is the earlier one and stays, whatever the metadata merge rule.
   */
  firstWins?: boolean
}

/**
 * What a source writes: `auto` (the default) a lead where the CRM can create leads, else a
 * contact; or a lead, a contact, or a contact and a lead linked to it.
 */
export const WRITE_MODES = ['auto', 'lead', 'contact', 'contact+lead'] as const
export type WriteMode = (typeof WRITE_MODES)[number]

/** Fields a source's `defaults` table may fill when a submission lacks them (a CRM that requires a last name or a company). */
export const DEFAULT_FIELDS = ['first_name', 'last_name', 'company_name', 'title'] as const
export type DefaultField = (typeof DEFAULT_FIELDS)[number]

/** What to write for a submission, from its source's configuration (README "What gets written"). */
export interface WritePlan {
  write: WriteMode
  /** Find or create the person's company and link them to it. */
  company: boolean
  /** Record the submission as an event on the person's record. */
  timeline: boolean
  /** The Unified connection to write to; absent: UNIFIED_CONNECTION_ID. */
  connection?: string
  /** Values a created record gets where the submission has none; never written over anything, never to an existing record. */
  defaults?: Partial<Record<DefaultField, string>>
  /** Who a created record belongs to (its `user_id`); the writer picks at create time, never on an update. */
  owner?: OwnerPlan
  /** The operator says this CRM holds no lead without a contact: a contact just made has no lead to search for. */
  leadsNeedContacts?: true
}

/** One way to pick an owner: a fixed user id, or the next of a list in turn (one counter per connection and list); config.ts allows one. */
export interface OwnerPick {
  user_id?: string
  round_robin?: string[]
}

/** A rule of an owner plan: when the draft's `field` equals a value (or is one of `in`), its pick. */
export interface OwnerRule extends OwnerPick {
  field: string
  equals?: string
  in?: string[]
}

/** A source's `owner` (README "Owner"): a pick, or rules evaluated in order, the plan's own pick (if any) their fallback. */
export interface OwnerPlan extends OwnerPick {
  rules?: OwnerRule[]
}

/** The owner a created record got, and by which part of the plan (`rules[0]: country equals "DE"`, `round_robin`…). */
export interface Owner {
  userId: string
  by: string
}

/** A postal address as submitted; `countryCode` is ISO 3166-1 alpha-2 when the country could be read (lead/country.ts). */
export interface Address {
  street?: string
  city?: string
  region?: string
  postalCode?: string
  country?: string
  countryCode?: string
}

/** What a draft queued before plans existed writes: a lead, as it did then. */
export const DEFAULT_PLAN: WritePlan = { write: 'lead', company: false, timeline: true }

/** The submission as it goes on the record's timeline: every field as submitted, the message among them. */
export interface TimelineEntry {
  /** FORM for a form someone filled in; NOTE for anything else (a payment). */
  type: 'FORM' | 'NOTE'
  /** The form's name, or what happened ("Stripe checkout.session.completed"). */
  title: string
  fields: { name: string; value: string }[]
}

/** Consent as given: to which wording (its version and SHA-256), and when. */
export interface Consent {
  version: string
  textSha256: string
  givenAt: string
}

/** An id the person has in the system that sent the submission (a Stripe customer id): it identifies them as surely as an email. */
export interface SourceId {
  /** Which system's id: `stripe_customer`. */
  name: string
  value: string
}

export interface LeadDraft {
  firstName?: string
  lastName?: string
  name?: string
  companyName?: string
  title?: string
  department?: string
  emails: string[]
  phones: string[]
  websites: string[]
  metadata: LeadMetadata[]
  source: string
  status: string
  /** Overrides of DEFAULT_MERGE_RULES, from the source's configuration. */
  merge: Partial<MergeRules>
  /** Ids in the sending system; see SourceId. */
  sourceIds?: SourceId[]
  /** ISO 3166 alpha-2 country for phone numbers written without a country code (default: the address's country, else US). */
  country?: string
  /** The person's postal address, when the source has one. */
  address?: Address
  /** The consent the person gave with this submission, when the source asks for one (README "Privacy"). */
  consent?: Consent
  /** When the person submitted, by the sender's clock, when it says (a provider's redelivery comes later than that). */
  submittedAt?: string
  /** What to write; absent (messages queued before it existed): DEFAULT_PLAN. */
  plan?: WritePlan
  /** The submission for the record's timeline; absent: no event. */
  timeline?: TimelineEntry
  /**
   * True when the sender is proven (a signed webhook). Only a verified
   * submission may add identifiers to a person it was matched to by another
   * identifier: anyone can type someone else's email into a public form.
   */
  verified?: boolean
  /**
   * Set by the queue consumer for the person's writer, never by a source: emails and phones of this
   * draft that the identity ledger has not linked to the person (a public post's new address for a
   * person known for longer than the new-person window). The CRM is searched for them, and a record
   * created for the person carries them; a record that exists never takes them.
   */
  unlinked?: string[]
}
