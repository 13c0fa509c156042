/**
 * `npm run check-config`: the configuration in wrangler.toml (and, for `wrangler dev`, .dev.vars)
 * validated by the Worker's own start-up check (src/startup.ts), so a mistake is printed as the
 * key and its fix, before anything is built. wrangler.toml's `[build] command` runs it, so
 * `wrangler deploy` (and its --dry-run), `wrangler dev` and `npm run dev` stop on a mistake
 * rather than deploy a Worker that can't start or report "The Workers runtime failed to start".
 * Vars set as secrets are not seen here; the Worker checks them when it starts.
 *
 * Exits 1 on a mistake. CLOUDFLARE_ENV selects a wrangler environment, as it does for wrangler.
 */
import path from 'node:path'
import { unstable_readConfig } from 'wrangler'
import { localVarsFile, ROOT } from './local-stack.ts'
import { importWorkerModule } from './worker-module.ts'

const config = unstable_readConfig({ config: path.join(ROOT, 'wrangler.toml'), env: process.env.CLOUDFLARE_ENV || undefined }, { hideWarnings: true })
// wrangler tells its build command which command it runs: only `wrangler dev` reads .dev.vars.
const dev = process.env.WRANGLER_COMMAND === 'dev'
const vars: Record<string, unknown> = { ...config.vars, ...(dev ? localVarsFile().vars : {}) }

const { checkConfig } = await importWorkerModule<{ checkConfig(env: object): void }>(path.join(ROOT, 'src/startup.ts'))
try {
  checkConfig(vars)
  console.log(`lead-intake: configuration checked (wrangler.toml${dev && localVarsFile().file ? ` and ${path.basename(localVarsFile().file!)}` : ''})`)
} catch (error) {
  // The Worker's ConfigError, by name: the bundle's class is not this script's.
  if ((error as Error).name !== 'ConfigError') throw error
  const [problems = '', fix] = (error as Error).message.split('. To fix it, ')
  console.error(`\nlead-intake would not start: ${problems.replace(/^Invalid lead-intake configuration: /, 'its configuration is invalid:\n  ')}`)
  if (fix) console.error(`To fix it, ${fix}.`)
  process.exit(1)
}
