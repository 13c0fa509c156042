/**
 * What lives in R2 rather than in a D1 row (README "Where things are kept"): a
 * submission's payload (the draft and the raw input, `payloads/<id>`) and the file
 * its form took (`files/<id>`), both keyed by the submission id, so erasure and
 * retention find them from the row's id alone. D1 keeps the index row; its size
 * cap and one-query-at-a-time never carry the bulk of the data.
 */
import type { Payload } from '../lead/message'

export const payloadKey = (id: string) => `payloads/${id}`
export const fileKey = (id: string) => `files/${id}`

/** A stored payload; rows from before replays re-mapped hold the whole queued message, whose `draft` is the same. */
export const readPayload = (text: string): Payload => {
  const stored = JSON.parse(text) as { draft?: Payload['draft']; fetch?: Payload['fetch']; input?: Payload['input'] }
  return stored.fetch ? { fetch: stored.fetch, input: stored.input } : { draft: stored.draft!, input: stored.input }
}

/** Keeps a submission's payload (serialized) under its id; a second put of the same id replaces it (a replay's re-mapped one). */
export async function putPayload(bucket: R2Bucket, id: string, text: string): Promise<string> {
  const key = payloadKey(id)
  await bucket.put(key, text, { httpMetadata: { contentType: 'application/json' } })
  return key
}

/** The payload R2 holds for a submission, or null. */
export async function getPayload(bucket: R2Bucket, id: string): Promise<Payload | null> {
  const object = await bucket.get(payloadKey(id))
  return object ? readPayload(await object.text()) : null
}

/** Deletes everything R2 holds of these submissions: payloads and files (R2 deletes up to 1,000 keys a call). */
export async function deleteBlobs(bucket: R2Bucket, ids: string[], what: ('payloads' | 'files')[] = ['payloads', 'files']): Promise<void> {
  const keys = ids.flatMap((id) => [...(what.includes('payloads') ? [payloadKey(id)] : []), ...(what.includes('files') ? [fileKey(id)] : [])])
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000))
}

/** Keeps the file a form post brought, under its submission's id, with what serving it back needs. */
export async function putFile(bucket: R2Bucket, id: string, file: { bytes: ArrayBuffer; type: string; name: string }): Promise<void> {
  await bucket.put(fileKey(id), file.bytes, {
    // Always a download, never rendered by the browser from the Worker's origin.
    httpMetadata: { contentType: file.type, contentDisposition: `attachment; filename="${file.name}"` },
  })
}

/** The file kept for a submission, or null (none, or erased or purged). */
export const getFile = (bucket: R2Bucket, id: string) => bucket.get(fileKey(id))
