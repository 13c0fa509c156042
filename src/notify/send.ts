/**
 * Sends one notification to one channel. A failure is a SendFailed whose message is safe to
 * keep and show (a status, an error class, a missing secret), never what the channel answered
 * or what was sent. Outbound webhooks are signed per Standard Webhooks: `webhook-signature:
 * v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed by the secret's
 * bytes after `whsec_`.
 */
import { type Channel, channelVar, signingKey, urlProblem } from './channels'
import { alertPayload, emailContent, slackPayload, teamsPayload, webhookPayload } from './format'
import type { NotifyMessage } from './message'

export class SendFailed extends Error {
  override name = 'SendFailed'
}

/** How long one channel may take to answer. */
const TIMEOUT_MS = 10_000

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes))

/** `v1,<base64>`: the Standard Webhooks signature of `body` sent as message `id` at `timestamp` (unix seconds). */
export async function signStandardWebhook(key: Uint8Array, id: string, timestamp: number, body: string): Promise<string> {
  const hmacKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = await crypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(`${id}.${timestamp}.${body}`))
  return `v1,${toBase64(new Uint8Array(mac))}`
}

/** The webhook-id of a message to a channel: the same on every retry (the receiver's idempotency key), no '.' in it. */
export async function messageId(key: string, channel: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${key}\n${channel}`)))
  return `msg_${Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')}`
}

const secretOf = (env: object, name: string): string | undefined => {
  const value = (env as Record<string, unknown>)[name]
  return typeof value === 'string' && value ? value : undefined
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (error) {
    throw new SendFailed(`no answer (${(error as Error).name})`)
  }
  // The body is read only to free the connection: it may echo what was sent.
  await res.body?.cancel()
  if (!res.ok) throw new SendFailed(`HTTP ${res.status}`)
}

/** Sends `m` to `channel`; `key` is the message's outbox key (its webhook-id). Throws SendFailed. */
export async function send(env: Env, channel: Channel, m: NotifyMessage, key: string): Promise<void> {
  const publicUrl = (env as { PUBLIC_URL?: string }).PUBLIC_URL
  if (channel.kind === 'email') {
    const mailer = (env as { SEND_EMAIL?: SendEmail }).SEND_EMAIL
    if (!mailer) throw new SendFailed('the send_email binding SEND_EMAIL is not configured in wrangler.toml')
    const content = emailContent(m, channel.subject, publicUrl)
    try {
      await mailer.send({ from: channel.from, to: channel.to, subject: content.subject, text: content.text, html: content.html })
    } catch (error) {
      throw new SendFailed(`send_email refused it (${(error as Error).name})`)
    }
    return
  }
  const urlVar = channelVar('CHANNEL_URL', channel.name)
  const url = secretOf(env, urlVar)
  if (!url) throw new SendFailed(`${urlVar} is not set: npx wrangler secret put ${urlVar}`)
  const problem = urlProblem(url)
  if (problem) throw new SendFailed(`${urlVar} ${problem}`)
  if (channel.kind === 'slack') return post(url, JSON.stringify(slackPayload(m, publicUrl)))
  if (channel.kind === 'teams') return post(url, JSON.stringify(teamsPayload(m, publicUrl)))
  const secretVar = channelVar('CHANNEL_SECRET', channel.name)
  const secret = secretOf(env, secretVar)
  const signing = secret ? signingKey(secret) : undefined
  if (!signing) throw new SendFailed(`${secretVar} is ${secret ? 'not a whsec_ secret' : 'not set'}: npx wrangler secret put ${secretVar}`)
  const body = JSON.stringify(m.type === 'event' ? webhookPayload(m, publicUrl) : alertPayload(m))
  const id = await messageId(key, channel.name)
  const timestamp = Math.floor(Date.now() / 1000)
  await post(url, body, {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': await signStandardWebhook(signing, id, timestamp, body),
  })
}
