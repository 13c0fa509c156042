/**
 * Serves the stand-in over real HTTP on loopback, so the Worker's SDK talks
 * to it exactly as it would to Unified. Used by the tests' global setup,
 * `npm run dev` and `npm run bench`.
 */
import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { StandinState, standinApp } from './app.ts'

export interface RunningStandin {
  url: string
  state: StandinState
  close(): Promise<void>
}

export function startStandin(port = 0, hostname = '127.0.0.1'): Promise<RunningStandin> {
  const state = new StandinState()
  return new Promise((resolve) => {
    const server = serve({ fetch: standinApp(state).fetch, port, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        state,
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
  })
}

// `node standin/server.ts [port]` runs it on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startStandin(Number(process.argv[2] ?? 8788))
  console.log(`Unified stand-in listening on ${running.url}`)
}
