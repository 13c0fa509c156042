/**
 * What a connection's CRM accepts, found out read-only before a lead is lost
 * to it: per object, a list with `limit=1` (readable?) and a list with a
 * query nothing can match (searchable, or does it ignore `query`?). Two calls
 * per object, no writes. Used where Unified's support data says nothing of an
 * object (it could not be read, or does not list the object).
 */
import type { CrmTarget } from './client'
import { type CrmError, classify } from './errors'
import { company } from './objects/company'
import { contact } from './objects/contact'
import { event } from './objects/event'
import { lead } from './objects/lead'
import type { CrmObject, ObjectName } from './objects/types'

export interface ObjectProbe {
  object: ObjectName
  /** Whether it can be listed: `no` when the CRM does not implement it (501). */
  readable: 'yes' | 'no' | 'error'
  /** `ignores query`: a search returns records that can't match; `unknown`: the CRM has none to tell by. */
  searchable: 'yes' | 'no' | 'ignores query' | 'unknown' | 'error'
  /** Status, operation and error class of a failed call (never a response body). */
  error?: string
}

const OBJECTS: CrmObject<{ id?: string }>[] = [lead, contact, company, event]

async function attempt<T>(operation: string, call: () => Promise<T>): Promise<{ ok: T } | { unsupported: true } | { error: CrmError }> {
  try {
    return { ok: await call() }
  } catch (error) {
    const e = classify(operation, error)
    return e.unsupported || e.status === 501 ? { unsupported: true } : { error: e }
  }
}

async function probeObject(t: CrmTarget, object: CrmObject<{ id?: string }>): Promise<ObjectProbe> {
  const name = object.name
  const listed = await attempt(`list ${name}`, () => object.list(t, { limit: 1, offset: 0 }))
  if ('unsupported' in listed) return { object: name, readable: 'no', searchable: 'no' }
  if ('error' in listed) return { object: name, readable: 'error', searchable: 'unknown', error: listed.error.message }
  const nonsense = `lead-intake-probe-${crypto.randomUUID()}`
  const searched = await attempt(`search ${name}`, () => object.list(t, { query: nonsense, limit: 1, offset: 0 }))
  if ('unsupported' in searched) return { object: name, readable: 'yes', searchable: 'no' }
  if ('error' in searched) return { object: name, readable: 'yes', searchable: 'error', error: searched.error.message }
  const searchable = searched.ok.length > 0 ? 'ignores query' : listed.ok.length > 0 ? 'yes' : 'unknown'
  return { object: name, readable: 'yes', searchable }
}

/** Probes the objects named (default: all four), one after another (two calls each). */
export async function probeConnection(t: CrmTarget, names: ObjectName[] = OBJECTS.map((o) => o.name)): Promise<ObjectProbe[]> {
  const out: ObjectProbe[] = []
  for (const object of OBJECTS) if (names.includes(object.name)) out.push(await probeObject(t, object))
  return out
}
