/**
 * The deployable bundle (`wrangler deploy --dry-run`): raw and gzip size of the
 * Worker script, built with wrangler's default conditions (what `wrangler
 * deploy` ships) and again with the SDK's TypeScript "source" export condition
 * added, with the largest packages in it. Target: ≤ 128 KiB gzip. The Worker's static
 * assets (static/: the phone metadata it reads once per isolate, the console's stylesheet
 * and script, the demo page) are deployed beside the bundle, not in it: their size is shown.
 * And its startup CPU: the "Active" time `wrangler check startup` profiles for the global
 * scope (Cloudflare allows 1 s), the median of 3 runs. Target: ≤ 50 ms.
 *
 * The default build is kept: the later scenarios' local Workers serve it
 * (`wrangler dev --no-bundle`), so edits to src/ during a run cannot reload them.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { runWrangler } from '../../scripts/local-stack.ts'
import { type BenchContext, type ScenarioResult, WRANGLER_QUIET, errorMessage, kib, num, verdict } from '../lib.ts'

const TARGET = { gzipKiB: 128, startupActiveMs: 50 }
/** Startup profiles taken: the median is reported, since one run can land on a busy moment. */
const STARTUP_RUNS = 3
/** wrangler's esbuild conditions when WRANGLER_BUILD_CONDITIONS is unset (it replaces them, comma-separated). */
const WRANGLER_DEFAULT_CONDITIONS = ['workerd', 'worker', 'browser']
const SDK_SOURCE_CONDITION = '@unified-api/typescript-sdk/source'

export interface BundleBuild {
  label: 'default' | 'sdk-source'
  conditions: string[]
  conditionsFrom: 'wrangler default' | 'WRANGLER_BUILD_CONDITIONS'
  files: string[]
  rawBytes: number
  gzipBytes: number
  /** What wrangler itself printed ("Total Upload: … / gzip: …"). */
  wranglerReport: { totalUploadKiB: number; gzipKiB: number } | undefined
  /** Where esbuild took the SDK from: "src", "dist", "src+dist" or "none". */
  sdkBuiltFrom: string
  /** Bytes in the output per package, largest first. */
  bytesByPackage: Record<string, number>
  meetsTarget: boolean
}

export interface StartupCpu {
  /** "Active" of each `wrangler check startup` run (ms, garbage collection included), in run order. */
  activeMs: number[]
  medianMs: number
  meetsTarget: boolean
}

export interface BundleData {
  target: typeof TARGET
  builds: BundleBuild[]
  /** Undefined when it could not be measured. */
  startup: StartupCpu | undefined
  /** static/, file by file: deployed with the Worker, outside its bundle. */
  assets: { file: string; rawBytes: number; gzipBytes: number }[]
}

/** Every file under static/ (wrangler.toml's [assets] directory), with its size. */
function staticAssets(dir: string, prefix = ''): BundleData['assets'] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(prefix, entry.name)
    if (entry.isDirectory()) return staticAssets(dir, file)
    const bytes = readFileSync(path.join(dir, file))
    return [{ file, rawBytes: bytes.length, gzipBytes: gzipSync(bytes).length }]
  })
}

/** Package of an esbuild input path: "project", "hono", "zod/v4", "@unified-api/typescript-sdk (dist)". */
function packageOf(input: string): string {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/)
  if (!m) return 'project'
  const [, name = '', rest = ''] = m
  if (name === 'zod') return `zod/${rest.match(/^(v\d|mini|v4-mini)/)?.[1] ?? rest.split('/')[0]}`
  if (name === '@unified-api/typescript-sdk') return `${name} (${rest.startsWith('src/') ? 'src' : rest.startsWith('dist/') ? 'dist' : 'root'})`
  return name
}

interface Metafile {
  outputs: Record<string, { inputs?: Record<string, { bytesInOutput: number }> }>
}

/** Builds with `wrangler deploy --dry-run` into `dir` and measures what came out. */
async function measure(label: BundleBuild['label'], conditions: string[] | undefined, dir: string): Promise<BundleBuild> {
  const metafile = path.join(dir, 'meta.json')
  const output = await runWrangler(['deploy', '--dry-run', '--outdir', dir, '--metafile', metafile], {
    env: { ...WRANGLER_QUIET, WRANGLER_BUILD_CONDITIONS: conditions?.join(',') },
  })
  let rawBytes = 0
  let gzipBytes = 0
  const files = readdirSync(dir).filter((f) => /\.(m?js|cjs)$/.test(f))
  for (const file of files) {
    const bytes = readFileSync(path.join(dir, file))
    rawBytes += bytes.length
    gzipBytes += gzipSync(bytes).length
  }
  const byPackage: Record<string, number> = {}
  const meta = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile
  for (const out of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs ?? {})) {
      const pkg = packageOf(input)
      byPackage[pkg] = (byPackage[pkg] ?? 0) + bytesInOutput
    }
  }
  const largest = Object.entries(byPackage).sort((a, b) => b[1] - a[1])
  const sdk = largest.map(([p]) => p.match(/typescript-sdk \((\w+)\)/)?.[1]).filter((f) => f && f !== 'root')
  const upload = output.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/)
  return {
    label,
    conditions: conditions ?? WRANGLER_DEFAULT_CONDITIONS,
    conditionsFrom: conditions ? 'WRANGLER_BUILD_CONDITIONS' : 'wrangler default',
    files,
    rawBytes,
    gzipBytes,
    wranglerReport: upload ? { totalUploadKiB: Number(upload[1]), gzipKiB: Number(upload[2]) } : undefined,
    sdkBuiltFrom: sdk.length ? sdk.join('+') : 'none',
    bytesByPackage: Object.fromEntries(largest),
    meetsTarget: kib(gzipBytes) <= TARGET.gzipKiB,
  }
}

/**
 * `wrangler check startup` STARTUP_RUNS times: it builds the Worker as `wrangler deploy` does and
 * profiles its global scope in local workerd; each run prints "Active: 37.0 ms (including …)".
 */
async function startupCpu(dir: string): Promise<StartupCpu> {
  const activeMs: number[] = []
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const output = await runWrangler(['check', 'startup', '--outfile', path.join(dir, `startup-${i}.cpuprofile`)], { env: WRANGLER_QUIET })
    const active = output.match(/Active: ([\d.]+) ms/)
    if (!active) throw new Error(`wrangler check startup printed no "Active" time:\n${output.trim().slice(-500)}`)
    activeMs.push(Number(active[1]))
  }
  const medianMs = [...activeMs].sort((a, b) => a - b)[Math.floor(STARTUP_RUNS / 2)]!
  return { activeMs, medianMs, meetsTarget: medianMs <= TARGET.startupActiveMs }
}

export async function bundle(ctx: BenchContext): Promise<ScenarioResult<BundleData>> {
  ctx.progress('bundle: wrangler deploy --dry-run, twice')
  const defaultDir = path.join(ctx.tmpDir, 'default')
  const sourceConditions = [...WRANGLER_DEFAULT_CONDITIONS, SDK_SOURCE_CONDITION]
  const builds = [await measure('default', undefined, defaultDir)]
  // What `wrangler deploy` ships is what the local Workers serve from here on.
  ctx.serveBuild(path.join(defaultDir, 'index.js'))
  builds.push(await measure('sdk-source', sourceConditions, path.join(ctx.tmpDir, 'sdk-source')))

  const lines = [`Bundle: wrangler deploy --dry-run          raw KiB  gzip KiB  SDK from   target <= ${TARGET.gzipKiB} KiB gzip`]
  for (const b of builds) {
    const name = b.label === 'default' ? 'default (what wrangler deploy ships)' : '+ the SDK\'s "source" condition'
    lines.push(`  ${name.padEnd(39)}${num(kib(b.rawBytes), 8)}${num(kib(b.gzipBytes), 10)}  ${b.sdkBuiltFrom.padEnd(9)}  ${verdict(b.meetsTarget)}`)
  }
  lines.push(`  (second build: WRANGLER_BUILD_CONDITIONS=${sourceConditions.join(',')})`)
  const top = Object.entries(builds[0]!.bytesByPackage).slice(0, 4)
  lines.push(`  largest in default build (KiB before gzip): ${top.map(([p, n]) => `${p} ${kib(n).toFixed(0)}`).join(', ')}`)
  const assets = staticAssets(path.join(ctx.root, 'static'))
  const assetsGzip = assets.reduce((sum, a) => sum + a.gzipBytes, 0)
  lines.push(`  static assets beside it (not in the bundle): ${kib(assetsGzip).toFixed(1)} KiB gzip in ${assets.map((a) => `${a.file} ${kib(a.gzipBytes).toFixed(1)}`).join(', ')}`)

  ctx.progress(`bundle: wrangler check startup, ${STARTUP_RUNS} times`)
  const unmeasured: string[] = []
  let startup: StartupCpu | undefined
  try {
    startup = await startupCpu(ctx.tmpDir)
  } catch (error) {
    unmeasured.push(`startup CPU: ${errorMessage(error)}`)
  }
  lines.push(`${'Startup CPU: wrangler check startup'.padEnd(41)}Active ms, median of ${STARTUP_RUNS}   target <= ${TARGET.startupActiveMs} ms`)
  lines.push(
    startup
      ? `  ${'the global scope, in local workerd'.padEnd(39)}${num(startup.medianMs, 22)}   ${verdict(startup.meetsTarget).padEnd(16)}  (runs: ${startup.activeMs.map((ms) => ms.toFixed(1)).join(', ')})`
      : '  not measured',
  )
  // The targets are what `wrangler deploy` ships; the second build shows what the condition would change.
  return { meetsTarget: builds[0]!.meetsTarget && !!startup?.meetsTarget, lines, data: { target: TARGET, builds, startup, assets }, unmeasured }
}
