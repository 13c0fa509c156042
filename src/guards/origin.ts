/**
 * Which sites may post to a form. `allowed_origins` drives CORS for fetch
 * posts and refuses other origins; `reject_other_origins` extends that to
 * plain browser posts (which CORS does not stop). A post without an Origin
 * header (curl, servers) is not a browser's and is let through.
 */
import type { FormConfig } from '../config'
import { problem } from '../http/problem'

export function checkOrigin(config: FormConfig, origin: string | undefined, isBrowserPost: boolean): void {
  if (!origin || config.allowed_origins.length === 0) return
  if (isBrowserPost && !config.reject_other_origins) return
  if (!config.allowed_origins.includes(origin)) {
    throw problem(403, 'origin-not-allowed', 'This site may not post to this form', {
      detail: 'The Origin of the request is not in the form\u2019s allowed_origins.',
    })
  }
}
