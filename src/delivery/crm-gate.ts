/**
 * Honours Unified's Retry-After for the whole connection: once it says
 * "wait", no writer calls it again before the time is up. One Durable Object
 * per connection holds the time, so every writer sees the same answer.
 */
import { DurableObject } from 'cloudflare:workers'

export class CrmGate extends DurableObject<Env> {
  /** Epoch ms before which nobody may call this connection; 0 when open. */
  async pausedUntil(): Promise<number> {
    return (await this.ctx.storage.get<number>('until')) ?? 0
  }

  async pause(until: number): Promise<void> {
    if (until > (await this.pausedUntil())) await this.ctx.storage.put('until', until)
  }
}

export const gateFor = (env: Env, connection: string): DurableObjectStub<CrmGate> =>
  env.CRM_GATE.get(env.CRM_GATE.idFromName(connection)) as DurableObjectStub<CrmGate>
