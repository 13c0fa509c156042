/**
 * `GET /files/<id>?exp=…&sig=…`: the file a form post brought, for whoever holds its signed
 * link (the CRM note). A missing, tampered or expired signature is 403; a file erased or past
 * retention is 410. Served as a download only, with nothing that would let it run here.
 * The link itself is never logged (the request log names the route pattern, not the URL).
 */
import { Hono } from 'hono/tiny'
import type { AppEnv } from '../http/context'
import { problem } from '../http/problem'
import { getFile } from '../store/blobs'
import { validLink } from './link'

export const files = new Hono<AppEnv>()

files.get('/:id', async (c) => {
  const id = c.req.param('id')
  const secret = c.env.HASH_SECRET
  if (!secret || !(await validLink(secret, id, c.req.query('exp'), c.req.query('sig')))) {
    throw problem(403, 'invalid-link', 'This link is not valid', { detail: 'The link is incomplete, altered or expired: ask for the file again.' })
  }
  const object = await getFile(c.env.BUCKET, id)
  if (!object) throw problem(410, 'file-gone', 'File no longer kept', { detail: 'The file was erased or is past its retention.' })
  return new Response(object.body, {
    headers: {
      'content-type': object.httpMetadata?.contentType ?? 'application/octet-stream',
      'content-disposition': object.httpMetadata?.contentDisposition ?? 'attachment',
      'content-length': String(object.size),
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'private, no-store',
      'referrer-policy': 'no-referrer',
    },
  })
})
