/**
 * Every configuration the Worker reads, validated at once with the schemas that read it:
 * when the Worker starts (index.ts), so a mistake stops it before any traffic, and by
 * `npm run check-config` (scripts/check-config.ts, wrangler.toml's build command), so
 * `wrangler deploy` and `npm run dev` name the key and the fix before they build.
 */
import { deliverySettings, loadForms } from './config'
import { failureThreshold } from './notify/alerts'
import { checkChannels } from './notify/channels'
import { endpoints } from './sources/registry'

/** Throws ConfigError naming each bad key and where to fix it. `endpoints` covers [vars.TYPEFORM], [vars.STRIPE], [vars.WEBHOOKS]. */
export function checkConfig(env: object): void {
  for (const load of [loadForms, endpoints, deliverySettings]) load(env)
  failureThreshold(env)
  // Channels, ALERTS, and every source's `notify` naming a declared channel.
  checkChannels(env, [
    ...Object.entries(loadForms(env)).map(([id, f]) => ({ key: `FORMS.${id}.notify`, where: `[vars.FORMS.${id}] in wrangler.toml`, names: f.notify })),
    ...endpoints(env).map((e) => ({
      key: `${e.builtIn ?? `WEBHOOKS.${e.id}`}.notify`,
      where: `[vars.${e.builtIn ?? `WEBHOOKS.${e.id}`}] in wrangler.toml`,
      names: e.config.notify ?? [],
    })),
  ])
}
