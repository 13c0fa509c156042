/**
 * The two person-like objects, lead and contact: which of their fields a
 * draft fills, under the merge policy (merge.ts), and how they link to the
 * person's company and contact. person.ts finds and writes either one.
 */
import type { CrmContact } from '@unified-api/typescript-sdk/sdk/models/shared/crmcontact.js'
import type { CrmLead } from '@unified-api/typescript-sdk/sdk/models/shared/crmlead.js'
import type { Address, DefaultField, LeadDraft, LeadMetadata, MergeRule } from '../lead/draft'
import { byEmail, byPhone, changes, compact, draftEmails, draftPhones, fullName, isBlank, list, metadata, rulesOf, scalar } from './merge'
import { contact } from './objects/contact'
import { lead } from './objects/lead'
import type { EditableObject } from './objects/types'

/** Records a person's lead or contact is linked to. */
export interface Links {
  companyId?: string
  contactId?: string
}

export interface PersonKind<R extends { id?: string }> {
  object: EditableObject<R>
  emails(r: R): { email?: string }[]
  telephones(r: R): { telephone: string }[]
  createdAt(r: R): Date | undefined
  /** Text a CRM's search could have matched. */
  searchable(r: R): string
  planCreate(d: LeadDraft, links: Links): R
  /** `attach` false leaves the record's emails and phones alone (see person.ts). */
  planUpdate(existing: R, d: LeadDraft, attach: boolean, links: Links): Partial<R> | null
}

type Named = { name?: string; firstName?: string; lastName?: string; emails?: { email?: string }[]; telephones?: { telephone: string }[] }
const searchable = (r: Named, ...more: (string | undefined)[]) =>
  [r.name, r.firstName, r.lastName, ...more, ...(r.emails ?? []).map((e) => e.email), ...(r.telephones ?? []).flatMap((t) => [t.telephone, t.telephone.replace(/\D/g, '')])]
    .filter(Boolean)
    .join(' ')
    .toLowerCase()

/** A record's value that is only the source's default counts as none: the person's own value fills it. */
export const ownValue = (d: LeadDraft, field: DefaultField, current: string | undefined): string | undefined =>
  current !== undefined && current === d.plan?.defaults?.[field] ? undefined : current

/** The fields every person-like record shares, planned for an update. */
function sharedUpdate(existing: Named & { linkUrls?: string[] }, d: LeadDraft, attach: boolean) {
  const rules = rulesOf(d)
  return {
    firstName: scalar(rules.first_name, ownValue(d, 'first_name', existing.firstName), d.firstName),
    lastName: scalar(rules.last_name, ownValue(d, 'last_name', existing.lastName), d.lastName),
    name: scalar(rules.name, existing.name, fullName(d)),
    emails: attach ? list(rules.emails, existing.emails, draftEmails(d), byEmail) : undefined,
    telephones: attach ? list(rules.telephones, existing.telephones, draftPhones(d), byPhone(d.country)) : undefined,
    linkUrls: list(rules.link_urls, existing.linkUrls, d.websites, (u) => u),
  }
}

/** Unified's address model (the same on a lead and a contact), from the draft's. */
type CrmAddress = NonNullable<CrmLead['address']>
const crmAddress = (a: Address | undefined): CrmAddress | undefined =>
  a ? compact<CrmAddress>({ address1: a.street, city: a.city, region: a.region, postalCode: a.postalCode, country: a.country, countryCode: a.countryCode }) : undefined

/** An address is merged whole (README "Addresses"): parts of two addresses never make one. */
function addressUpdate(rule: MergeRule, current: CrmAddress | undefined, d: LeadDraft): CrmAddress | undefined {
  const incoming = crmAddress(d.address)
  if (!incoming || rule === 'never') return undefined
  const has = !!current && Object.values(current).some((v) => !isBlank(v))
  if (rule === 'always') return has && JSON.stringify(compact(current!)) === JSON.stringify(incoming) ? undefined : incoming
  return has ? undefined : incoming
}

/** A link the CRM record does not have yet: set it (lead-intake's own knowledge, not the person's words). */
const link = (current: string | undefined, id: string | undefined) => (id && current !== id && !current ? id : undefined)

/** The draft with its source's `defaults` where it has no value of its own: what a created record carries. */
const withDefaults = (d: LeadDraft): LeadDraft => {
  const f = d.plan?.defaults
  if (!f) return d
  return { ...d, firstName: d.firstName || f.first_name, lastName: d.lastName || f.last_name, companyName: d.companyName || f.company_name, title: d.title || f.title }
}

/** `title` and `department` have no lead column in Unified's model: on a lead each travels as the custom field of its name. */
const leadMetadata = (d: LeadDraft): LeadMetadata[] => [
  ...d.metadata,
  ...(d.title ? [{ slug: 'title', value: d.title, format: 'TEXT' as const }] : []),
  ...(d.department ? [{ slug: 'department', value: d.department, format: 'TEXT' as const }] : []),
]

export const LEAD: PersonKind<CrmLead> = {
  object: lead,
  emails: (r) => r.emails ?? [],
  telephones: (r) => r.telephones ?? [],
  createdAt: (r) => r.createdAt,
  searchable: (r) => searchable(r, r.companyName),
  planCreate: (draft, links) => {
    const d = withDefaults(draft)
    return compact<CrmLead>({
      firstName: d.firstName,
      lastName: d.lastName,
      name: fullName(draft), // the person's own name: a default last name is no part of it
      companyName: d.companyName,
      address: crmAddress(d.address),
      emails: draftEmails(d),
      telephones: draftPhones(d),
      linkUrls: [...new Set(d.websites)],
      metadata: leadMetadata(d).map(({ slug, value, format }) => ({ slug, value, format })),
      source: d.source,
      status: d.status,
      companyId: links.companyId,
      contactId: links.contactId,
    })
  },
  planUpdate: (existing, d, attach, links) => {
    const rules = rulesOf(d)
    return changes<Partial<CrmLead>>({
      ...sharedUpdate(existing, d, attach),
      companyName: scalar(rules.company_name, ownValue(d, 'company_name', existing.companyName), d.companyName),
      source: scalar(rules.source, existing.source, d.source),
      status: scalar(rules.status, existing.status, d.status),
      address: addressUpdate(rules.address, existing.address, d),
      metadata: metadata(rules, existing.metadata, leadMetadata(d)),
      companyId: link(existing.companyId, links.companyId),
      contactId: link(existing.contactId, links.contactId),
    })
  },
}

export const CONTACT: PersonKind<CrmContact> = {
  object: contact,
  emails: (r) => r.emails ?? [],
  telephones: (r) => r.telephones ?? [],
  createdAt: (r) => r.createdAt,
  searchable: (r) => searchable(r, r.company),
  planCreate: (draft, links) => {
    const d = withDefaults(draft)
    return compact<CrmContact>({
      firstName: d.firstName,
      lastName: d.lastName,
      name: fullName(draft), // the person's own name: a default last name is no part of it
      company: d.companyName,
      title: d.title,
      department: d.department,
      address: crmAddress(d.address),
      emails: draftEmails(d),
      telephones: draftPhones(d),
      linkUrls: [...new Set(d.websites)],
      metadata: d.metadata.map(({ slug, value, format }) => ({ slug, value, format })),
      companyIds: links.companyId ? [links.companyId] : undefined,
    })
  },
  planUpdate: (existing, d, attach, links) => {
    const rules = rulesOf(d)
    const companyIds = existing.companyIds ?? []
    return changes<Partial<CrmContact>>({
      ...sharedUpdate(existing, d, attach),
      company: scalar(rules.company_name, ownValue(d, 'company_name', existing.company), d.companyName),
      title: scalar(rules.title, ownValue(d, 'title', existing.title), d.title),
      department: scalar(rules.department, existing.department, d.department),
      address: addressUpdate(rules.address, existing.address, d),
      metadata: metadata(rules, existing.metadata, d.metadata),
      companyIds: links.companyId && !companyIds.includes(links.companyId) ? [...companyIds, links.companyId] : undefined,
    })
  },
}
