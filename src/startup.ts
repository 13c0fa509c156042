/**
 * Every configuration the Worker reads, validated at once with the schemas that read it:
 * when the Worker starts (index.ts), so a mistake stops it before any traffic, and by
 * `npm run check-config` (scripts/check-config.ts, wrangler.toml's build command), so
 * `wrangler deploy` and `npm run dev` name the key and the fix before they build.
 */
import { deliverySettings, loadForms } from './config'
import { endpoints } from './sources/registry'

/** Throws ConfigError naming each bad key and where to fix it. `endpoints` covers [vars.TYPEFORM], [vars.STRIPE], [vars.WEBHOOKS]. */
export function checkConfig(env: object): void {
  for (const load of [loadForms, endpoints, deliverySettings]) load(env)
}
