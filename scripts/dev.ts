/**
 * `npm run dev`: the Worker on http://localhost:8787 (or the next free port).
 * Without a real UNIFIED_API_KEY (in .dev.vars or the environment) it writes to
 * the local Unified stand-in on http://127.0.0.1:8788 (or the next free port).
 * Local D1 migrations are applied first. Ctrl-C stops everything.
 */
import { ensureModernNode, type LocalStack, localVarsFile, realUnifiedKey, startLocalStack } from './local-stack.ts'

await ensureModernNode()

const CONNECTION_ID = 'local-dev'
const real = realUnifiedKey()

console.log(
  real
    ? `UNIFIED_API_KEY is set (${real.source}): the Worker writes to Unified itself, no stand-in.`
    : 'No UNIFIED_API_KEY set: starting the Unified stand-in for the Worker to write to.',
)

const abort = new AbortController()
// The demo page on, and an operator token for the status page unless .dev.vars sets one.
const DEV_OPERATOR_TOKEN = 'dev'
const ownToken = !localVarsFile().vars.OPERATOR_TOKEN
const vars = { DEMO_PAGE: 'true', ...(ownToken ? { OPERATOR_TOKEN: DEV_OPERATOR_TOKEN } : {}) }
const starting = startLocalStack({ standin: !real, connectionId: CONNECTION_ID, signal: abort.signal, vars })
let stopping = false
async function stop(code: number): Promise<void> {
  if (stopping) return
  stopping = true
  abort.abort()
  const stack = await starting.catch(() => undefined)
  await stack?.stop()
  process.exit(code)
}
process.on('SIGINT', () => stop(130))
process.on('SIGTERM', () => stop(143))
process.on('SIGHUP', () => stop(129))
// `kill <npm's pid>` takes npm and its shell down without signalling us: notice being orphaned.
const parent = process.ppid
setInterval(() => process.ppid !== parent && stop(143), 1000).unref()

let stack: LocalStack
try {
  stack = await starting
} catch (error) {
  if (stopping) await new Promise(() => {}) // stop() exits
  console.error(`\nnpm run dev: ${(error as Error).message}`)
  process.exit(1)
}

const worker = stack.workerUrl.replace('127.0.0.1', 'localhost')
const lines = [
  '',
  `  Demo page         ${worker}/demo`,
  `  Worker            ${worker}`,
  `  Form endpoint     POST ${worker}/forms/contact`,
  `  Health            ${worker}/healthz`,
]
if (stack.standinUrl) {
  lines.push(
    `  Unified stand-in  ${stack.standinUrl}/  (the leads written, per connection)`,
    `  Leads as JSON     ${stack.standinUrl}/_standin/${CONNECTION_ID}/leads`,
    `  Unified calls     ${stack.standinUrl}/_standin/counters`,
  )
}
lines.push(
  `  Operator status   ${worker}/operator/  (password: ${ownToken ? DEV_OPERATOR_TOKEN : 'OPERATOR_TOKEN from .dev.vars'}, any user name)`,
  '',
  `  Try: curl -i -X POST -d email=ada@example.com -d first_name=Ada ${worker}/forms/contact`,
  `  Ctrl-C stops the Worker${stack.standinUrl ? ' and the stand-in' : ''}.`,
  '',
)
console.log(lines.join('\n'))

// wrangler ended on its own (crash, or killed from outside): take the stand-in down with it.
const code = await stack.exited
if (!stopping) {
  console.error(`wrangler dev exited (code ${code}); stopping.`)
  await stop(code || 1)
}
