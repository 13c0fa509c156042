/**
 * `npm run check-connection`: what each CRM connection your sources write to accepts, read
 * from Unified (or a local stand-in): its integration and, per object, what that integration
 * can do (Unified's support data; objects it says nothing of probed read-only), and what every
 * configured source needs of it, with the setting to change where it can't.
 * The same check as `GET /operator/connection`, run from your machine before you deploy.
 *
 *   npm run check-connection                                  # UNIFIED_API_KEY from .dev.vars or the environment
 *   npm run check-connection -- --url http://127.0.0.1:8788   # a local stand-in (npm run dev prints its address)
 *
 * Exits 1 when a source would fail.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, parseEnv } from 'node:util'
import { unstable_readConfig } from 'wrangler'
import { printConnectionCheck } from './connection-report.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: flags } = parseArgs({ options: { url: { type: 'string' }, key: { type: 'string' }, connection: { type: 'string' } } })

const devVarsFile = ['.dev.vars', '.env'].map((f) => path.join(root, f)).find(existsSync)
const devVars = devVarsFile ? parseEnv(readFileSync(devVarsFile, 'utf8')) : {}
const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml') }, { hideWarnings: true })
const setting = (name: string): string | undefined => process.env[name] || devVars[name] || (config.vars[name] as string | undefined) || undefined

const env = {
  ...config.vars,
  UNIFIED_API_KEY: flags.key ?? setting('UNIFIED_API_KEY') ?? (flags.url ? 'standin' : undefined),
  UNIFIED_API_URL: flags.url ?? setting('UNIFIED_API_URL'),
  UNIFIED_CONNECTION_ID: flags.connection ?? setting('UNIFIED_CONNECTION_ID') ?? (flags.url ? 'local-dev' : undefined),
  TYPEFORM_WEBHOOK_SECRET: setting('TYPEFORM_WEBHOOK_SECRET'),
  STRIPE_WEBHOOK_SECRET: setting('STRIPE_WEBHOOK_SECRET'),
}
if (!env.UNIFIED_API_KEY) {
  console.error('No UNIFIED_API_KEY: set it in .dev.vars or the environment, or point at a stand-in with --url.')
  process.exit(2)
}

// The check is the Worker's own code (src/operator/connection.ts), printed as setup prints it too.
process.exitCode = (await printConnectionCheck(env)) ? 1 : 0
