/**
 * RFC 6901 JSON Pointer, read-only: how a configured webhook endpoint names the
 * payload value that feeds a lead field (`email = "/data/email_addresses/0/email_address"`).
 * Written here rather than taken from a library: resolving is fifteen lines, and the
 * packages bring a compiler, setters and relative pointers we'd ship without using.
 */

/** True for "" (the whole document) and for "/"-separated tokens whose every `~` is `~0` or `~1`. */
export const isPointer = (pointer: string): boolean => pointer === '' || /^(?:\/(?:[^~/]|~[01])*)+$/.test(pointer)

/** The value `pointer` names in `doc`, or undefined when it names nothing (or is no pointer). Own keys only. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  if (!isPointer(pointer)) return undefined
  let at = doc
  for (const token of pointer.split('/').slice(1)) {
    // ~1 first, then ~0 (RFC 6901 §4), so "~01" is the key "~1", not "/".
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(at)) {
      // An index is digits without leading zeros; "-" (past the end) names nothing.
      if (!/^(?:0|[1-9]\d*)$/.test(key)) return undefined
      at = at[Number(key)]
    } else if (typeof at === 'object' && at !== null && Object.hasOwn(at, key)) {
      at = (at as Record<string, unknown>)[key]
    } else {
      return undefined
    }
  }
  return at
}
