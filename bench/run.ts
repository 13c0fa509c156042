/**
 * `npm run bench [-- scenario…]`: the numbers that keep lead-intake honest, one
 * module per scenario in bench/scenarios/ (each explains what it measures and
 * its targets):
 *
 *   bundle      the deployable bundle's size (wrangler deploy --dry-run) and startup CPU (wrangler check startup)
 *   calls       Unified calls per submission by mode (lead; contact+lead with company): new, changed, unchanged, double submit
 *   throughput  form posts/s next to GET /healthz on a local Worker
 *   faults      Unified failing, then recovering: leads written, duplicates, lost
 *   burst       300 people at once against a rate-limited CRM: drain, 429s, calls, post → CRM
 *   crms        per stand-in CRM profile: calls of a new person and its repeats, a 200-person mixed run, silently dropped fields
 *   cost        per submission: invocations, Durable Object requests, queue operations, D1 queries and rows, R2 operations, Unified calls; a month priced
 *   load        form posts at a rising rate until a limit shows: the intake's answers, the consumer's people written/s, the backlog
 *
 * With no names it runs them all, in that order (`npm run bench -- burst calls`
 * runs those two, still in that order: calls and throughput share one local
 * Worker, and calls must come before throughput fills its queue). Each scenario
 * has a time limit; past it, it is stopped and reported as not measured.
 *
 * Prints each scenario's table when it is done and writes
 * bench/out/bench-<time>.json (and latest.json); wrangler's output goes to
 * bench/out/wrangler-dev.log. Everything runs on loopback. Exits non-zero only
 * when something could not be measured; a missed target prints "target missed".
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureModernNode, ROOT, startLocalStack } from '../scripts/local-stack.ts'
import {
  type BenchContext,
  type BenchStack,
  type Scenario,
  SCENARIO_NAMES,
  type ScenarioName,
  type StackRequest,
  WRANGLER_QUIET,
  benchStandin,
  errorMessage,
} from './lib.ts'
import { bundle } from './scenarios/bundle.ts'
import { burst } from './scenarios/burst.ts'
import { calls } from './scenarios/calls.ts'
import { cost } from './scenarios/cost.ts'
import { crms } from './scenarios/crms.ts'
import { faults } from './scenarios/faults.ts'
import { load } from './scenarios/load.ts'
import { throughput } from './scenarios/throughput.ts'

interface Entry {
  run: Scenario<unknown>
  /** Stopped past this (its own budgets plus starting its local Workers on a busy machine). */
  limitSeconds: number
  /** Runs on the local Worker shared with the other scenarios that say so. */
  sharesStack: boolean
}

const SCENARIOS: Record<ScenarioName, Entry> = {
  bundle: { run: bundle, limitSeconds: 240, sharesStack: false },
  calls: { run: calls, limitSeconds: 240, sharesStack: false },
  throughput: { run: throughput, limitSeconds: 240, sharesStack: true },
  faults: { run: faults, limitSeconds: 240, sharesStack: false },
  // Three local Workers, runs of up to 150 + 150 + 60 s, and the double submit.
  burst: { run: burst, limitSeconds: 720, sharesStack: false },
  // Six profiles, one after another: three steps and 200 people each, on one local Worker.
  crms: { run: crms, limitSeconds: 900, sharesStack: false },
  // A new person, a repeat and a burst of 50 on a local Worker of its own.
  cost: { run: cost, limitSeconds: 300, sharesStack: false },
  // Six steps of 8 s at a rising rate, on a local Worker of its own.
  load: { run: load, limitSeconds: 240, sharesStack: false },
}

interface ScenarioRecord {
  meetsTarget: boolean
  ms: number
  unmeasured: string[]
  data: unknown
}

interface Report {
  startedAt: string
  finishedAt?: string
  node: string
  run: string
  scenarios: ScenarioName[]
  limitSeconds: number
  results: Partial<Record<ScenarioName, ScenarioRecord>>
  errors: { scenario: ScenarioName | 'bench'; message: string }[]
}

function parseArgs(args: string[]): ScenarioName[] {
  const known = new Set<string>(SCENARIO_NAMES)
  const unknown = args.filter((a) => !known.has(a))
  if (unknown.length) {
    console.error(`bench: unknown scenario ${unknown.join(', ')}; usage: npm run bench [-- ${SCENARIO_NAMES.join(' ')}] (default: all)`)
    process.exit(2)
  }
  return SCENARIO_NAMES.filter((name) => args.length === 0 || args.includes(name))
}

/** Resolves or rejects with `promise`, or rejects as soon as `signal` is aborted. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => undefined) // once abandoned, its late failure is not ours to report
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    promise.then(resolve, reject)
  })
}

async function main(): Promise<number> {
  await ensureModernNode()
  const selected = parseArgs(process.argv.slice(2))
  const started = new Date()
  const run = Date.now().toString(36)
  const outDir = path.join(ROOT, 'bench', 'out')
  mkdirSync(outDir, { recursive: true })
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'lead-intake-bench-'))
  const devLog = path.join(outDir, 'wrangler-dev.log')
  const log = createWriteStream(devLog)
  const limitSeconds = selected.reduce((sum, name) => sum + SCENARIOS[name].limitSeconds, 0)
  const report: Report = { startedAt: started.toISOString(), node: process.versions.node, run, scenarios: selected, limitSeconds, results: {}, errors: [] }

  // Ctrl-C (or a kill) stops whatever runs, then the report of what was measured is still written.
  const interrupt = new AbortController()
  let exitCode = 0
  const onSignal = (code: number) => () => {
    if (interrupt.signal.aborted) process.exit(code) // a second Ctrl-C: now
    exitCode = code
    interrupt.abort(new Error('interrupted'))
  }
  process.on('SIGINT', onSignal(130))
  process.on('SIGTERM', onSignal(143))

  let workerScript: string | undefined
  let visitors = 0
  let shared: Promise<BenchStack> | undefined
  const stopShared = async () => {
    const stack = await shared?.catch(() => undefined)
    shared = undefined
    await stack?.stop()
  }

  const start = async (request: StackRequest, signal: AbortSignal): Promise<BenchStack> => {
    log.write(`\n===== ${request.name}: wrangler dev, connection ${request.connectionId} =====\n`)
    const stack = await startLocalStack({
      standinPort: 0,
      workerPort: 0,
      connectionId: request.connectionId,
      output: log,
      env: WRANGLER_QUIET,
      // The bundle scenario's default build when it ran: edits to src/ or wrangler.toml during the run cannot reload it.
      script: workerScript,
      watchConfig: false,
      persistTo: path.join(tmpDir, `state-${request.name}`),
      vars: request.vars,
      signal,
    })
    return {
      name: request.name,
      workerUrl: stack.workerUrl,
      standinUrl: stack.standinUrl,
      connectionId: stack.connectionId,
      standin: benchStandin(stack.standinUrl, signal),
      served: workerScript ? 'the default build (wrangler dev --no-bundle)' : 'src/ (wrangler dev)',
      stop: stack.stop,
    }
  }

  console.log(`lead-intake bench, ${report.startedAt} (node ${process.versions.node}): ${selected.join(', ')}; at most ${Math.ceil(limitSeconds / 60)} min\n`)
  for (const name of selected) {
    if (interrupt.signal.aborted) break
    const entry = SCENARIOS[name]
    if (!entry.sharesStack) await stopShared()
    const signal = AbortSignal.any([interrupt.signal, AbortSignal.timeout(entry.limitSeconds * 1000)])
    // The scenario's own Workers, started or starting: all stopped when it ends, however it ends.
    const own: Promise<BenchStack>[] = []
    const ctx: BenchContext = {
      run,
      root: ROOT,
      outDir,
      tmpDir,
      signal,
      sharedStack: () => (shared ??= start({ name: 'shared', connectionId: 'bench' }, interrupt.signal)),
      startStack: (request) => {
        const stack = start(request, signal)
        own.push(stack)
        return stack
      },
      serveBuild: (script) => (workerScript = script),
      visitorIp: () => {
        // RFC 2544's benchmarking range, 198.18.0.0/15: one address per form post.
        const n = visitors++
        return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`
      },
      progress: (message) => console.error(`bench: ${message}`),
    }
    const t0 = Date.now()
    try {
      const result = await untilAborted(entry.run(ctx), signal)
      report.results[name] = { meetsTarget: result.meetsTarget, ms: Date.now() - t0, unmeasured: result.unmeasured, data: result.data }
      console.log([...result.lines, ...result.unmeasured.map((u) => `  could not measure: ${u}`), ''].join('\n'))
    } catch (error) {
      const message = interrupt.signal.aborted
        ? 'interrupted'
        : signal.aborted
          ? `stopped at its time limit of ${entry.limitSeconds} s`
          : errorMessage(error)
      report.errors.push({ scenario: name, message })
      console.error(`bench: ${name} failed: ${message}`)
      // A shared Worker in an unknown state is not handed to the next scenario.
      if (entry.sharesStack) await stopShared()
    } finally {
      for (const stack of await Promise.allSettled(own)) if (stack.status === 'fulfilled') await stack.value.stop()
    }
  }
  await stopShared()
  log.end()
  rmSync(tmpDir, { recursive: true, force: true })

  report.finishedAt = new Date().toISOString()
  const stamp = started.toISOString().replace(/[:.]/g, '-')
  const jsonFile = path.join(outDir, `bench-${stamp}.json`)
  const json = JSON.stringify(report, null, 2) + '\n'
  writeFileSync(jsonFile, json)
  writeFileSync(path.join(outDir, 'latest.json'), json)

  const measured = Object.entries(report.results)
  const met = measured.filter(([, r]) => r.meetsTarget).map(([n]) => n)
  const missed = measured.filter(([, r]) => !r.meetsTarget).map(([n]) => n)
  const unmeasured = [...report.errors.map((e) => e.scenario), ...measured.filter(([, r]) => r.unmeasured.length).map(([n]) => n)]
  const lines = [
    `Targets met: ${met.join(', ') || 'none'}; missed: ${missed.join(', ') || 'none'} (${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min)`,
    `JSON: ${path.relative(process.cwd(), jsonFile)} (and bench/out/latest.json); wrangler dev output: ${path.relative(process.cwd(), devLog)}`,
  ]
  if (unmeasured.length) lines.push(`Could not measure: ${[...new Set(unmeasured)].join(', ')}`)
  console.log(lines.join('\n'))
  return exitCode || (unmeasured.length ? 1 : 0)
}

process.exit(await main())
