/**
 * The app's context type, at the bottom so routes and middleware anywhere can
 * use it without importing app.ts: the bindings, and the variables each
 * middleware sets (as hono's own `RequestIdVariables` does).
 */
import type { RequestIdVariables } from 'hono/request-id'

export type AppVariables = RequestIdVariables & {
  /** The submission id a request was accepted under, for its log line. */
  submission?: string
}

export type AppEnv = { Bindings: Env; Variables: AppVariables }
