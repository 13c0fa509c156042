/**
 * Reading the SDK's results. A 2xx the SDK's response validation refused
 * because a CRM sent `null` where its model only allows absence is read again
 * without the nulls; anything still unreadable is a retryable CrmError that
 * names no field and quotes nothing (see errors.ts).
 */
import type { ZodType, ZodTypeDef } from 'zod/v3'
import type { CrmTarget } from './client'
import { classify, limitOf, parseRetryAfter, perMinuteOf } from './errors'

/** JSON nulls as absent fields. */
const withoutNulls = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(withoutNulls)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]))
      : value

type Result<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** The status of a failed SDK result, when Unified answered. */
export const statusOf = (res: Result<unknown>): number | undefined =>
  res.ok ? undefined : (res.error as { statusCode?: number }).statusCode

export function unwrap<T>(operation: string, res: Result<T>, read: (raw: unknown) => T | undefined): T {
  if (res.ok) return res.value
  const error = res.error as { name?: string; rawValue?: unknown }
  if (error?.name === 'ResponseValidationError') {
    const again = read(withoutNulls(error.rawValue))
    if (again !== undefined) return again
  }
  throw classify(operation, res.error)
}

/** A reader of one record by the SDK's own inbound schema. */
export const reader =
  <R>(schema: ZodType<R, ZodTypeDef, unknown>) =>
  (raw: unknown): R | undefined => {
    const parsed = schema.safeParse(raw)
    return parsed.success ? parsed.data : undefined
  }

/** A reader of a list: every record readable, or none (a page read in part could hide the person). */
export const listReader =
  <R>(one: (raw: unknown) => R | undefined) =>
  (raw: unknown): R[] | undefined => {
    if (!Array.isArray(raw)) return undefined
    const records = raw.map(one)
    return records.every((r): r is R => r !== undefined) ? records : undefined
  }

/**
 * One Unified call at the connection's pace: a permit first, and a rate limit
 * (a 429, or a 403 that says so, with the per-minute allowance Unified's words
 * name) or a busy CRM (a 503 that doesn't say when) told to the pacer, which
 * then holds every writer of the connection back.
 */
export async function paced<T>(t: CrmTarget, call: () => Promise<Result<T>>): Promise<Result<T>> {
  await t.pace?.before()
  const sending = call()
  // Said once the request is on its way (the SDK sends it before its first real wait): the pace counts the start from here.
  t.pace?.sent?.()
  const sentAt = Date.now()
  const res = await sending
  if (res.ok) return res
  const error = res.error as { headers?: Headers; body?: string }
  const retryAfter = parseRetryAfter(error?.headers?.get('retry-after'))
  const limit = limitOf(statusOf(res), error?.body, retryAfter)
  if (limit === 'rate') await t.pace?.limited(retryAfter, perMinuteOf(error?.body), sentAt)
  if (limit === 'busy') await t.pace?.busy(sentAt)
  return res
}
