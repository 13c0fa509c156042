/**
 * A module of the Worker (src/) loaded into a Node script, so the script runs the Worker's own
 * code rather than a copy of it: bundled with esbuild first, since src/ imports carry no file
 * extensions. Used by check-connection and check-config.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

/** The exports of `entry` (a path under src/), typed by the caller: the Worker's types are not a Node script's. */
export async function importWorkerModule<T>(entry: string): Promise<T> {
  const out = await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent' })
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lead-intake-module-'))
  try {
    const file = path.join(dir, `${path.basename(entry, '.ts')}.mjs`)
    writeFileSync(file, out.outputFiles[0]!.text)
    return (await import(pathToFileURL(file).href)) as T
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
