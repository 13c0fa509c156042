/** Starts the Unified stand-in once for the whole run; tests reach it over HTTP. */
import type { TestProject } from 'vitest/node'
import { startStandin } from '../standin/server.ts'

export default async function setup(project: TestProject) {
  const standin = await startStandin()
  project.provide('standinUrl', standin.url)
  return () => standin.close()
}
