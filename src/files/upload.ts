/**
 * A form post's file, from the form route's point of view: checked (413/415) and its signed
 * link put in the post's fields under the file's field, before the post is mapped (so the
 * note, and a replay's re-mapping, carry the link); then kept in R2 just before it is queued,
 * and deleted again if it could not be. Only a file the Worker kept is a link on the note:
 * a text value sent under the field is dropped.
 */
import type { FilesConfig } from '../config'
import { retryLater } from '../http/problem'
import { log } from '../log'
import type { FormFields, FormFiles } from '../sources/form'
import { deleteBlobs, putFile } from '../store/blobs'
import { type CheckedFile, checkUpload } from './check'
import { fileLink } from './link'

/** Checks the post's file and links it in `fields` as submission `id`'s; undefined when the post brought none. */
export async function linkUpload(env: Env, config: FilesConfig, uploads: FormFiles, fields: FormFields, id: string, origin: string): Promise<CheckedFile | undefined> {
  const file = await checkUpload(config, uploads.get(config.field))
  fields.delete(config.field)
  if (!file) return undefined
  if (!env.HASH_SECRET) throw retryLater('unconfigured', 'Files are not taken yet', 'HASH_SECRET is not set, so no file link can be signed.', 300)
  fields.set(config.field, [await fileLink(env.HASH_SECRET, origin, id, config.link_days)])
  return file
}

/** Keeps the file, then runs `accept` (the queue send); a file whose post was not queued is not kept. */
export async function keepUpload<T>(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }, id: string, file: CheckedFile | undefined, accept: () => Promise<T>): Promise<T> {
  if (!file) return accept()
  try {
    await putFile(env.BUCKET, id, file)
  } catch (error) {
    log('error', 'file not stored', { submission: id, error: (error as Error).name })
    throw retryLater('storage-unavailable', 'Temporarily unable to accept submissions', 'Nothing was saved. Please try again shortly.', 30)
  }
  try {
    return await accept()
  } catch (error) {
    // Not queued, so not kept: the sender tries again with the file.
    ctx.waitUntil(deleteBlobs(env.BUCKET, [id], ['files']).catch(() => undefined))
    throw error
  }
}
