/**
 * Local receivers for lead-intake's notifications (not Unified's): `POST /sinks/{name}` stands for a
 * Slack or Teams incoming webhook or a team's own webhook receiver, and records what it got
 * (headers and raw body, so a test checks the signature over the very bytes). Told to fail, it
 * answers with that status instead, the given number of times.
 *
 *   POST /sinks/{name}                          record (or fail); answers 200 "ok" as Slack does
 *   GET  /_standin/sinks/{name}                 [{at, headers, body}…] what it recorded, in order
 *   POST /_standin/sinks/{name}/fail            {status = 500, times = 1e9}: fail the next `times` posts
 */
import { Hono } from 'hono'

export interface Received {
  at: number
  headers: Record<string, string>
  body: string
}

export class SinkState {
  received = new Map<string, Received[]>()
  failing = new Map<string, { status: number; times: number }>()

  reset(): void {
    this.received.clear()
    this.failing.clear()
  }
}

export function sinkRoutes(sinks: SinkState) {
  const app = new Hono()
  app.post('/sinks/:name', async (c) => {
    const name = c.req.param('name')
    const body = await c.req.text()
    const fail = sinks.failing.get(name)
    if (fail && fail.times > 0) {
      fail.times -= 1
      return c.text('failing on purpose', fail.status as 500)
    }
    const list = sinks.received.get(name) ?? []
    const headers: Record<string, string> = {}
    c.req.raw.headers.forEach((value, key) => void (headers[key] = value))
    list.push({ at: Date.now(), headers, body })
    sinks.received.set(name, list)
    return c.text('ok')
  })
  app.get('/_standin/sinks/:name', (c) => c.json(sinks.received.get(c.req.param('name')) ?? []))
  app.post('/_standin/sinks/:name/fail', async (c) => {
    const body = ((await c.req.json().catch(() => ({}))) ?? {}) as { status?: number; times?: number }
    sinks.failing.set(c.req.param('name'), { status: body.status ?? 500, times: body.times ?? 1e9 })
    return c.json({ ok: true })
  })
  return app
}
