/**
 * What happens once per transition of a connection between answering and held
 * (CrmGate calls these, once each). A log line for now, with nothing personal;
 * alerts (issue 21 item 3) hang here: the notification worker replaces the
 * bodies, callers stay as they are.
 */
import { log } from '../log'

/** The connection refused our credentials and its leads now wait (`reason`: status and the fix, no secret, no response body). */
export async function onHeld(_env: Env, connection: string, reason: string): Promise<void> {
  log('error', 'CRM connection held: its leads wait until it answers again', { connection, reason })
}

/** The connection answered the probe again: its held leads were queued again (`requeued` of them). */
export async function onResumed(_env: Env, connection: string, r: { heldMs: number; requeued: number }): Promise<void> {
  log('info', 'CRM connection resumed: its held leads are queued again', { connection, heldMs: r.heldMs, requeued: r.requeued })
}
