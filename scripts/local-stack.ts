/**
 * The local stack shared by `npm run dev` and `npm run bench`: the Unified
 * stand-in (standin/server.ts, in this process) and `wrangler dev` (a child
 * process group), with the Worker pointed at the stand-in through --var.
 * Everything listens on loopback only.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseEnv } from 'node:util'
import type { RunningStandin } from '../standin/server.ts'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** The API key the Worker sends to the stand-in (which only checks that there is one). */
export const STANDIN_KEY = 'standin-dev-key'
/** The D1 database whose migrations are applied before the Worker starts. */
export const D1_DATABASE = 'lead-intake'

const WRANGLER = path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
const BIN = path.join(ROOT, 'node_modules', '.bin')

/**
 * Node 22.18+/23.6+ run standin/*.ts natively; `npm run …` puts the project's
 * Node 24 (node_modules/.bin/node) first on PATH. When started with an older
 * `node`, run the same script again with the project's Node and pass its exit code on.
 */
export async function ensureModernNode(): Promise<void> {
  if (process.features.typescript) return
  const local = path.join(BIN, 'node')
  if (!existsSync(local) || process.execPath === local) {
    console.error(`Node ${process.versions.node} cannot run TypeScript files; use \`npm run …\` (needs Node >= 22.18).`)
    process.exit(1)
  }
  const child = spawn(local, process.argv.slice(1), { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(exitStatus(c, s))))
  process.exit(code)
}

/** A child's exit as a shell reports it: its code, or 128 + the signal that ended it. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? (signal ? 128 + os.constants.signals[signal] : 1)
}

/** Extra environment variables; `undefined` removes one. */
export type EnvOverrides = Record<string, string | undefined>

/** The environment for wrangler: the project's Node first on PATH (wrangler needs >= 22); `undefined` in `extra` removes a variable. */
export function wranglerEnv(extra: EnvOverrides = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}`, ...extra }
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key]
  return env
}

const canListen = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT'))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })

/** `preferred` or the next free port on loopback (IPv4 and, where present, IPv6); 0 = any free port. */
export async function freePort(preferred = 0): Promise<number> {
  if (preferred === 0) {
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
    const { port } = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    return port
  }
  for (let port = preferred; port < preferred + 100 && port < 65536; port++) {
    if ((await canListen(port, '127.0.0.1')) && (await canListen(port, '::1'))) return port
  }
  throw new Error(`no free port in ${preferred}-${preferred + 99}`)
}

/**
 * The Worker's local vars as wrangler dev would read them: .dev.vars, else .env
 * (wrangler's own fallback). Returns the file used and its values.
 */
export function localVarsFile(root = ROOT): { file: string | undefined; vars: Record<string, string | undefined> } {
  for (const name of ['.dev.vars', '.env']) {
    const file = path.join(root, name)
    if (existsSync(file)) return { file, vars: parseEnv(readFileSync(file, 'utf8')) }
  }
  return { file: undefined, vars: {} }
}

const isRealKey = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '' && value !== STANDIN_KEY

/** Where a real Unified key comes from, if one is set: the vars file wins over the environment. */
export function realUnifiedKey(root = ROOT): { source: string } | undefined {
  const { file, vars } = localVarsFile(root)
  if (file && isRealKey(vars.UNIFIED_API_KEY)) return { source: path.basename(file) }
  if (isRealKey(process.env.UNIFIED_API_KEY)) return { source: 'environment' }
  return undefined
}

/** Runs wrangler to completion with no terminal input (so it never prompts); rejects with its output on failure. */
export function runWrangler(
  args: string[],
  { cwd = ROOT, env = {}, timeoutMs = 120_000 }: { cwd?: string; env?: EnvOverrides; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], {
      cwd,
      env: wranglerEnv({ CI: 'true', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d))
    child.stderr.on('data', (d: Buffer) => (output += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(output)
      else reject(new Error(`wrangler ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`))
    })
  })
}

/** `wrangler d1 migrations apply <db> --local`, non-interactive. */
export function applyMigrations({ cwd = ROOT, persistTo, env }: { cwd?: string; persistTo?: string; env?: EnvOverrides } = {}): Promise<string> {
  const args = ['d1', 'migrations', 'apply', D1_DATABASE, '--local', ...(persistTo ? ['--persist-to', persistTo] : [])]
  return runWrangler(args, { cwd, env: { WRANGLER_HIDE_BANNER: 'true', ...env } })
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface LocalStackOptions {
  /** The project (default: this repository). */
  cwd?: string
  /** true (default) to run the stand-in and point the Worker at it; false to use the configured Unified. */
  standin?: boolean
  /** Preferred ports, the next free one is taken (0: any). */
  standinPort?: number
  workerPort?: number
  /** The Worker's listen address (default 127.0.0.1). */
  ip?: string
  /** The connection id the Worker uses with the stand-in. */
  connectionId?: string
  /** wrangler's local state directory (default .wrangler/state). */
  persistTo?: string
  /** 'inherit' (wrangler prints to this terminal) or a writable stream for wrangler's output. */
  output?: 'inherit' | NodeJS.WritableStream
  /** Extra environment for wrangler. */
  env?: EnvOverrides
  /** How long to wait for /healthz. */
  readyTimeoutMs?: number
  /** Cancels the start (everything started so far is stopped). */
  signal?: AbortSignal
  /**
   * Serve this already-built Worker (e.g. `wrangler deploy --dry-run --outdir` output) with
   * --no-bundle instead of building src/; the config is still the project's wrangler.toml.
   */
  script?: string
  /** false to ignore edits of wrangler.toml while running (default true). */
  watchConfig?: boolean
  /** Extra Worker vars (not secrets: they show in `ps`). */
  vars?: Record<string, string>
}

export interface LocalStack {
  workerUrl: string
  standin: RunningStandin | undefined
  standinUrl: string | undefined
  connectionId: string | undefined
  /** Resolves with wrangler's exit code when it ends on its own or is stopped. */
  exited: Promise<number>
  stop(): Promise<void>
}

/** A stack with the stand-in (the default): its URL and the connection the Worker uses are known. */
export interface StandinStack extends LocalStack {
  standin: RunningStandin
  standinUrl: string
  connectionId: string
}

/** Starts the stack and resolves once GET /healthz answers 200. */
export function startLocalStack(options?: LocalStackOptions & { standin?: true }): Promise<StandinStack>
export function startLocalStack(options: LocalStackOptions): Promise<LocalStack>
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const {
    cwd = ROOT,
    standin: useStandin = true,
    standinPort = 8788,
    workerPort = 8787,
    ip = '127.0.0.1',
    connectionId = 'local-dev',
    persistTo,
    output = 'inherit',
    env = {},
    readyTimeoutMs = 90_000,
    signal,
    script,
    watchConfig = true,
    vars = {},
  } = options
  const checkAborted = () => {
    if (signal?.aborted) throw new Error('start-up cancelled')
  }

  const cleanups: (() => Promise<void>)[] = []
  const cleanup = async () => {
    for (let step = cleanups.pop(); step; step = cleanups.pop()) await step().catch(() => undefined)
  }

  try {
    let standin: RunningStandin | undefined
    const args = ['dev', '--ip', ip, '--show-interactive-dev-session=false']
    // With an explicit script wrangler would look for the config next to it: name the project's.
    if (script) args.push('--config', path.join(cwd, 'wrangler.toml'), '--no-bundle', script)
    if (persistTo) args.push('--persist-to', persistTo)

    if (useStandin) {
      // A .ts import: Node strips the types (see ensureModernNode).
      const { startStandin }: typeof import('../standin/server.ts') = await import(pathToFileURL(path.join(cwd, 'standin', 'server.ts')).href)
      const running = await startStandin(await freePort(standinPort), '127.0.0.1')
      standin = running
      cleanups.push(() => running.close())
      args.push(
        '--local',
        '--var', `UNIFIED_API_URL:${running.url}`,
        '--var', `UNIFIED_API_KEY:${STANDIN_KEY}`,
        '--var', `UNIFIED_CONNECTION_ID:${connectionId}`,
        // The demo page links to what the stand-in holds; Turnstile's test secrets are answered there too.
        '--var', `DEMO_LEADS_URL:${running.url}/`,
        '--var', `TURNSTILE_VERIFY_URL:${running.url}/turnstile/v0/siteverify`,
      )
    } else if (!isRealKey(localVarsFile(cwd).vars.UNIFIED_API_KEY) && isRealKey(process.env.UNIFIED_API_KEY)) {
      // The key is only in the environment, which wrangler dev does not pass to the Worker.
      // Hand it over in a private env file rather than on the command line (visible in `ps`).
      const dir = mkdtempSync(path.join(os.tmpdir(), 'lead-intake-dev-'))
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
      const file = path.join(dir, 'unified.env')
      const pick = ['UNIFIED_API_KEY', 'UNIFIED_CONNECTION_ID', 'UNIFIED_API_URL'].filter((k) => process.env[k])
      writeFileSync(file, pick.map((k) => `${k}=${JSON.stringify(process.env[k])}`).join('\n') + '\n', { mode: 0o600 })
      const { file: varsFile } = localVarsFile(cwd)
      if (varsFile) args.push('--env-file', varsFile)
      args.push('--env-file', file)
    }

    // Local data only: a fixed hash key unless the vars file brings one (a deployment sets its own secret).
    if (!localVarsFile(cwd).vars.HASH_SECRET && !vars.HASH_SECRET) args.push('--var', 'HASH_SECRET:local-dev-hash-key')
    for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`)

    checkAborted()
    await applyMigrations({ cwd, persistTo, env })
    checkAborted()

    const port = await freePort(workerPort)
    const inspectorPort = await freePort(workerPort === 0 ? 0 : 9229)
    args.push('--port', String(port), '--inspector-port', String(inspectorPort))
    const workerUrl = `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`

    // Its own process group, so stop() reaches wrangler, its CLI child and workerd alike.
    const child: ChildProcess = spawn(process.execPath, [WRANGLER, ...args], {
      cwd,
      // The Worker never reads request.cf: skip miniflare's download of it from workers.cloudflare.com.
      env: wranglerEnv({
        CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
        ...(watchConfig ? {} : { WRANGLER_CI_DISABLE_CONFIG_WATCHING: 'true' }),
        ...env,
      }),
      stdio: ['ignore', output === 'inherit' ? 'inherit' : 'pipe', output === 'inherit' ? 'inherit' : 'pipe'],
      detached: true,
    })
    if (output !== 'inherit') {
      child.stdout?.pipe(output, { end: false })
      child.stderr?.pipe(output, { end: false })
    }
    // Set by the child's exit event: read in the loops below, so not narrowed to its initial value.
    let exitCode = undefined as number | undefined
    const exited = new Promise<number>((resolve) => {
      child.on('exit', (code, signal) => resolve((exitCode = exitStatus(code, signal))))
      child.on('error', () => resolve((exitCode = 1)))
    })
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
    }
    cleanups.push(async () => {
      if (exitCode === undefined) signalGroup('SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])
      if (!done) signalGroup('SIGKILL')
      await sleep(100)
      signalGroup('SIGKILL') // workerd may outlive the CLI by a moment
    })

    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      checkAborted()
      if (exitCode !== undefined) throw new Error(`wrangler dev exited (code ${exitCode}) before the Worker was ready`)
      try {
        const res = await fetch(`${workerUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
        await res.arrayBuffer()
        if (res.ok) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the Worker did not answer ${workerUrl}/healthz within ${readyTimeoutMs / 1000} s`)
      await sleep(250)
    }

    let stopping: Promise<void> | undefined
    return {
      workerUrl,
      standin,
      standinUrl: standin?.url,
      connectionId: useStandin ? connectionId : undefined,
      exited,
      stop: () => (stopping ??= cleanup()),
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}
