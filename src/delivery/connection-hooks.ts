/**
 * What happens once per transition of a connection between answering and held
 * (CrmGate calls these, once each): a log line with nothing personal, and the
 * operator's alert (`ALERTS`, README "Notifications") — told when it is held,
 * "resolved" only once it has stayed free through the sweep a minute after the
 * resume (a connection that reads but refuses writes answers the probe, then is
 * held again at once: its alert stays open rather than flapping each probe).
 */
import { log } from '../log'
import { alert, resolve } from '../notify/alerts'

const condition = (connection: string) => `crm-held:${connection}`
const title = (connection: string) => `CRM connection ${connection} is held: it refuses our credentials`

/** The connection refused our credentials and its leads now wait (`reason`: status and the fix, no secret, no response body). */
export async function onHeld(env: Env, connection: string, reason: string, probeEveryMs: number): Promise<void> {
  log('error', 'CRM connection held: its leads wait until it answers again', { connection, reason })
  const every = probeEveryMs <= 60_000 ? 'every minute' : `every ${Math.round(probeEveryMs / 60_000)} minutes`
  // Already open (held again soon after a resume): told again at most hourly (alerts.ts).
  await alert(env, condition(connection), title(connection), `${reason}. Its submissions wait (held, no attempt spent) and are written by themselves once it answers again; it is probed ${every}.`).catch(
    (error: unknown) => log('error', 'alert not told', { condition: condition(connection), error: (error as Error).name }),
  )
}

/** The connection answered the probe again: its held leads were queued again (`requeued` of them). */
export function onResumed(connection: string, r: { heldMs: number; requeued: number }): void {
  log('info', 'CRM connection resumed: its held leads are queued again', { connection, heldMs: r.heldMs, requeued: r.requeued })
}

/** A minute after the resume, still free: the operator is told it cleared. */
export async function onCleared(env: Env, connection: string): Promise<void> {
  await resolve(env, condition(connection), title(connection)).catch((error: unknown) =>
    log('error', 'alert not told', { condition: condition(connection), error: (error as Error).name }),
  )
}
