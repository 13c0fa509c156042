/**
 * The signed-webhook preset verifiers against the providers' own examples and vectors
 * (test/fixtures/SOURCES.md). Where a provider publishes no signature vector, the tests sign
 * its example payload themselves, with Web Crypto directly and not through the code under test.
 */
import { describe, expect, it } from 'vitest'
import { SIGNED_PRESETS } from '../src/sources/verify'
import * as calcom from '../src/sources/verify/calcom'
import * as calendly from '../src/sources/verify/calendly'
import * as jotform from '../src/sources/verify/jotform'
import * as standard from '../src/sources/verify/standard-webhooks'
import * as tally from '../src/sources/verify/tally'
import * as webflow from '../src/sources/verify/webflow'
import calBooking from './fixtures/cal.com/BOOKING_CREATED.docs-example.json'
import calendlyActivepieces from './fixtures/calendly/invitee.created.activepieces-sample.json'
import calendlyPayload from './fixtures/calendly/invitee.payload.docs-example.json'
import jotformMultipart from './fixtures/jotform/response.zulip-fixture.multipart?raw'
import clerkUserCreated from './fixtures/standard-webhooks/clerk.user.created.docs-example.json'
import swVectors from './fixtures/standard-webhooks/spec-vectors.json'
import tallyExample from './fixtures/tally/form_response.docs-example.json'
import webflowSubmission from './fixtures/webflow/form_submission.docs-example.json'
import { b64, hex, hmac } from './helpers'

const encoder = new TextEncoder()
const bytes = (text: string): ArrayBuffer => encoder.encode(text).buffer as ArrayBuffer

const decodeB64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0) // a fixed clock for the timestamped presets
const NOW_S = Math.floor(NOW / 1000)

describe('Standard Webhooks', () => {
  const [spec, rust] = swVectors.vectors as [(typeof swVectors.vectors)[0], (typeof swVectors.vectors)[0]]
  const headersOf = (v: { id: string; timestamp: number }, signature: string) =>
    new Headers({ 'webhook-id': v.id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': signature })
  const verifyVector = (v: typeof spec, signature = v.signature, opts: { secrets?: string[]; body?: string; now?: number } = {}) =>
    standard.verifyStandardWebhooks(opts.secrets ?? [v.secret], bytes(opts.body ?? v.body), headersOf(v, signature), opts.now ?? v.timestamp * 1000)
  /** Signs as the spec does: base64(HMAC(base64-decode(secret after whsec_), id.timestamp.body)). */
  const sign = async (secret: string, id: string, timestamp: number, body: string) =>
    `v1,${b64(await hmac(decodeB64(secret.replace(/^whsec_/, '')), `${id}.${timestamp}.${body}`))}`

  it("the spec libraries' vector verifies", async () => {
    expect(await verifyVector(spec)).toBe('ok')
  })

  it("the Rust library's vector verifies", async () => {
    expect(await verifyVector(rust)).toBe('ok')
  })

  it('the vectors are what an independent HMAC gives (the fixture is not mistyped)', async () => {
    for (const v of [spec, rust]) expect(await sign(v.secret, v.id, v.timestamp, v.body)).toBe(v.signature)
  })

  it('a tampered body is a mismatch', async () => {
    expect(await verifyVector(spec, spec.signature, { body: spec.body.replace('2432232314', '2432232315') })).toBe('mismatch')
  })

  it('a wrong secret is a mismatch', async () => {
    expect(await verifyVector(spec, spec.signature, { secrets: [rust.secret] })).toBe('mismatch')
  })

  it("the libraries' rejected signatures are mismatches", async () => {
    expect(await verifyVector(rust, swVectors.rejected[0]!.signature!)).toBe('mismatch')
    expect(await verifyVector(spec, swVectors.rejected[2]!.signature!)).toBe('mismatch')
  })

  it('a timestamp more than 5 minutes old is stale', async () => {
    expect(await verifyVector(spec, spec.signature, { now: (spec.timestamp + 301) * 1000 })).toBe('stale')
  })

  it('a timestamp more than 5 minutes ahead is stale', async () => {
    expect(await verifyVector(spec, spec.signature, { now: (spec.timestamp - 301) * 1000 })).toBe('stale')
  })

  it('5 minutes either way is still accepted', async () => {
    expect(await verifyVector(spec, spec.signature, { now: (spec.timestamp + 300) * 1000 })).toBe('ok')
    expect(await verifyVector(spec, spec.signature, { now: (spec.timestamp - 300) * 1000 })).toBe('ok')
  })

  it('a signature that is no v1 HMAC is malformed (the libraries\' invalid and partial signatures)', async () => {
    for (const bad of ['v1,dawfeoifkpqwoekfpqoekf', spec.signature.slice(0, 8), 'v1,', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=']) {
      expect(await verifyVector(spec, bad)).toBe('malformed')
    }
  })

  it('a timestamp that is not an integer is malformed', async () => {
    for (const timestamp of ['hello', '161426533.0', '-161426533']) {
      const headers = new Headers({ 'webhook-id': spec.id, 'webhook-timestamp': timestamp, 'webhook-signature': spec.signature })
      expect(await standard.verifyStandardWebhooks([spec.secret], bytes(spec.body), headers, NOW)).toBe('malformed')
    }
  })

  it("an id with a '.' is malformed (it would make the signed content ambiguous)", async () => {
    const headers = new Headers({ 'webhook-id': 'msg.1', 'webhook-timestamp': String(spec.timestamp), 'webhook-signature': spec.signature })
    expect(await standard.verifyStandardWebhooks([spec.secret], bytes(spec.body), headers, spec.timestamp * 1000)).toBe('malformed')
  })

  it('any of the three headers missing is missing', async () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = headersOf(spec, spec.signature)
      headers.delete(name)
      expect(await standard.verifyStandardWebhooks([spec.secret], bytes(spec.body), headers, spec.timestamp * 1000)).toBe('missing')
    }
  })

  it('rotation: the second configured secret passes', async () => {
    expect(await verifyVector(spec, spec.signature, { secrets: [rust.secret, spec.secret] })).toBe('ok')
  })

  it('several signatures in the header: one valid v1 among decoys (and a v2) is enough', async () => {
    const decoys = swVectors.rejected[1]!.signatures!
    expect(await verifyVector(spec, [...decoys, spec.signature, decoys[0]].join(' '))).toBe('ok')
  })

  it('the whsec_ prefix is optional, as in the libraries', async () => {
    expect(await verifyVector(spec, spec.signature, { secrets: [spec.secret.slice('whsec_'.length)] })).toBe('ok')
  })

  it('Svix-branded headers (Clerk, Resend) verify the same way', async () => {
    const headers = new Headers({ 'svix-id': spec.id, 'svix-timestamp': String(spec.timestamp), 'svix-signature': spec.signature })
    expect(await standard.verifyStandardWebhooks([spec.secret], bytes(spec.body), headers, spec.timestamp * 1000)).toBe('ok')
  })

  it("a real sender's payload (Clerk user.created) verifies when signed with the spec's scheme", async () => {
    const body = JSON.stringify(clerkUserCreated)
    const headers = new Headers({ 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': String(NOW_S) })
    headers.set('webhook-signature', await sign(spec.secret, headers.get('webhook-id')!, NOW_S, body))
    expect(await standard.verifyStandardWebhooks([spec.secret], bytes(body), headers, NOW)).toBe('ok')
  })

  it('the event key is webhook-id, the type the body\'s type', async () => {
    const headers = new Headers({ 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek' })
    expect(await standard.eventOf(bytes(JSON.stringify(clerkUserCreated)), headers)).toEqual({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      type: 'user.created',
      from: 'provider',
    })
  })
})

describe('Tally', () => {
  const SECRET = 'tally-signing-secret-1'
  const body = JSON.stringify(tallyExample)
  const sign = async (text: string, secret = SECRET) => new Headers({ 'tally-signature': b64(await hmac(secret, text)) })

  it("Tally's docs example verifies", async () => {
    expect(await tally.verifyTally([SECRET], bytes(body), await sign(body))).toBe('ok')
  })

  it('a tampered body is a mismatch', async () => {
    expect(await tally.verifyTally([SECRET], bytes(body.replace('alice@example.com', 'mallory@example.com')), await sign(body))).toBe('mismatch')
  })

  it('a wrong secret is a mismatch', async () => {
    expect(await tally.verifyTally([SECRET], bytes(body), await sign(body, 'not-the-secret'))).toBe('mismatch')
  })

  it('a signature that is not base64 of 32 bytes is malformed', async () => {
    const hexSignature = hex(await hmac(SECRET, body)) // the right HMAC, wrong encoding
    for (const bad of [hexSignature, `sha256=${b64(await hmac(SECRET, body))}`, '!!!']) {
      expect(await tally.verifyTally([SECRET], bytes(body), new Headers({ 'tally-signature': bad }))).toBe('malformed')
    }
  })

  it('no Tally-Signature header is missing', async () => {
    expect(await tally.verifyTally([SECRET], bytes(body), new Headers())).toBe('missing')
  })

  it('rotation: the second configured secret passes', async () => {
    expect(await tally.verifyTally(['tally-retired-secret', SECRET], bytes(body), await sign(body))).toBe('ok')
  })

  it('no timestamp is signed: the clock plays no part', async () => {
    // Through the common Verifier shape, which passes a clock that Tally ignores.
    expect(await SIGNED_PRESETS.tally.verify([SECRET], bytes(body), await sign(body), NOW + 10 * 365 * 86400_000, 1)).toBe('ok')
  })

  it('the event key is eventId, the type eventType', async () => {
    expect(await tally.eventOf(bytes(body))).toEqual({ id: 'a4cb511e-d513-4fa5-baee-b815d718dfd1', type: 'FORM_RESPONSE', from: 'provider' })
  })
})

describe('Calendly', () => {
  const SECRET = 'calendly-signing-key-1'
  // The docs' invitee object inside the delivery envelope's `event` key (the docs example is the payload alone).
  const body = JSON.stringify({ event: 'invitee.created', payload: calendlyPayload })
  const sign = async (text: string, t = NOW_S, secret = SECRET) =>
    new Headers({ 'calendly-webhook-signature': `t=${t},v1=${hex(await hmac(secret, `${t}.${text}`))}` })

  it("Calendly's docs example verifies", async () => {
    expect(await calendly.verifyCalendly([SECRET], bytes(body), await sign(body), NOW)).toBe('ok')
  })

  it('the Activepieces sample delivery verifies as sent', async () => {
    const sample = JSON.stringify(calendlyActivepieces)
    expect(await calendly.verifyCalendly([SECRET], bytes(sample), await sign(sample), NOW)).toBe('ok')
  })

  it('a tampered body is a mismatch', async () => {
    expect(await calendly.verifyCalendly([SECRET], bytes(body.replace('test@example.com', 'mallory@example.com')), await sign(body), NOW)).toBe('mismatch')
  })

  it('a wrong secret is a mismatch', async () => {
    expect(await calendly.verifyCalendly([SECRET], bytes(body), await sign(body, NOW_S, 'not-the-key'), NOW)).toBe('mismatch')
  })

  it('a timestamp more than 3 minutes old is stale', async () => {
    expect(await calendly.verifyCalendly([SECRET], bytes(body), await sign(body, NOW_S - 181), NOW)).toBe('stale')
  })

  it('a wider tolerance can be given', async () => {
    expect(await calendly.verifyCalendly([SECRET], bytes(body), await sign(body, NOW_S - 181), NOW, 300)).toBe('ok')
  })

  it('a header without t or without a hex v1 is malformed', async () => {
    const v1 = hex(await hmac(SECRET, `${NOW_S}.${body}`))
    for (const bad of [`v1=${v1}`, `t=${NOW_S}`, `t=${NOW_S},v1=zz`, `t=now,v1=${v1}`, `t=${NOW_S},v1=${btoa(v1)}`]) {
      expect(await calendly.verifyCalendly([SECRET], bytes(body), new Headers({ 'calendly-webhook-signature': bad }), NOW)).toBe('malformed')
    }
  })

  it('no Calendly-Webhook-Signature header is missing', async () => {
    expect(await calendly.verifyCalendly([SECRET], bytes(body), new Headers(), NOW)).toBe('missing')
  })

  it('rotation: the second configured secret passes', async () => {
    expect(await calendly.verifyCalendly(['calendly-retired-key', SECRET], bytes(body), await sign(body), NOW)).toBe('ok')
  })

  it('the event key is the event with the invitee URI (Calendly sends no event id)', async () => {
    expect(await calendly.eventOf(bytes(body))).toEqual({
      id: 'invitee.created:https://api.calendly.com/scheduled_events/AAAAAAAAAAAAAAAA/invitees/AAAAAAAAAAAAAAAA',
      type: 'invitee.created',
      from: 'derived',
    })
  })

  it('without an event name (the Activepieces sample) the key is the body hash', async () => {
    const key = await calendly.eventOf(bytes(JSON.stringify(calendlyActivepieces)))
    expect(key).toMatchObject({ type: undefined, from: 'body' })
    expect(key.id).toMatch(/^sha256:[0-9a-f]{64}$/)
  })
})

describe('Cal.com', () => {
  const SECRET = 'calcom-webhook-secret-1'
  const body = JSON.stringify(calBooking)
  const sign = async (text: string, secret = SECRET) => new Headers({ 'x-cal-signature-256': hex(await hmac(secret, text)) })

  it("Cal.com's docs example verifies", async () => {
    expect(await calcom.verifyCalcom([SECRET], bytes(body), await sign(body))).toBe('ok')
  })

  it('a tampered body is a mismatch', async () => {
    expect(await calcom.verifyCalcom([SECRET], bytes(body.replace('john.doe@example.com', 'mallory@example.com')), await sign(body))).toBe('mismatch')
  })

  it('a wrong secret is a mismatch', async () => {
    expect(await calcom.verifyCalcom([SECRET], bytes(body), await sign(body, 'not-the-secret'))).toBe('mismatch')
  })

  it("a webhook without a secret sends 'no-secret-provided': malformed", async () => {
    expect(await calcom.verifyCalcom([SECRET], bytes(body), new Headers({ 'x-cal-signature-256': 'no-secret-provided' }))).toBe('malformed')
  })

  it('a base64 signature (not hex) is malformed', async () => {
    expect(await calcom.verifyCalcom([SECRET], bytes(body), new Headers({ 'x-cal-signature-256': b64(await hmac(SECRET, body)) }))).toBe('malformed')
  })

  it('no X-Cal-Signature-256 header is missing', async () => {
    expect(await calcom.verifyCalcom([SECRET], bytes(body), new Headers())).toBe('missing')
  })

  it('rotation: the second configured secret passes', async () => {
    expect(await calcom.verifyCalcom(['calcom-retired-secret', SECRET], bytes(body), await sign(body))).toBe('ok')
  })

  it('the event key is the trigger with the booking uid (Cal.com sends no event id)', async () => {
    expect(await calcom.eventOf(bytes(body))).toEqual({ id: 'BOOKING_CREATED:bFJeNb2uX8ANpT3JL5EfXw', type: 'BOOKING_CREATED', from: 'derived' })
  })
})

describe('Webflow', () => {
  const SECRET = 'webflow-client-secret-1'
  const body = JSON.stringify(webflowSubmission)
  /** Webflow's timestamp is in milliseconds; the signed content is `${timestamp}:${body}`. */
  const sign = async (text: string, timestampMs = NOW, secret = SECRET) =>
    new Headers({ 'x-webflow-timestamp': String(timestampMs), 'x-webflow-signature': hex(await hmac(secret, `${timestampMs}:${text}`)) })

  it("Webflow's docs example verifies", async () => {
    expect(await webflow.verifyWebflow([SECRET], bytes(body), await sign(body), NOW)).toBe('ok')
  })

  it('a tampered body is a mismatch', async () => {
    expect(await webflow.verifyWebflow([SECRET], bytes(body.replace('zaphod@heartofgold.ai', 'mallory@example.com')), await sign(body), NOW)).toBe('mismatch')
  })

  it('a wrong secret is a mismatch', async () => {
    expect(await webflow.verifyWebflow([SECRET], bytes(body), await sign(body, NOW, 'not-the-secret'), NOW)).toBe('mismatch')
  })

  it('a timestamp more than 5 minutes old is stale', async () => {
    expect(await webflow.verifyWebflow([SECRET], bytes(body), await sign(body, NOW - 301_000), NOW)).toBe('stale')
  })

  it('a signature made over a timestamp in seconds does not pass as the one in milliseconds', async () => {
    const headers = await sign(body, NOW_S)
    headers.set('x-webflow-timestamp', String(NOW))
    expect(await webflow.verifyWebflow([SECRET], bytes(body), headers, NOW)).toBe('mismatch')
  })

  it('a non-numeric timestamp or a non-hex signature is malformed', async () => {
    const good = await sign(body)
    const badTimestamp = new Headers(good)
    badTimestamp.set('x-webflow-timestamp', '2026-01-15T12:00:00Z')
    const badSignature = new Headers(good)
    badSignature.set('x-webflow-signature', 'sha256=abc')
    expect(await webflow.verifyWebflow([SECRET], bytes(body), badTimestamp, NOW)).toBe('malformed')
    expect(await webflow.verifyWebflow([SECRET], bytes(body), badSignature, NOW)).toBe('malformed')
  })

  it('either header missing is missing', async () => {
    for (const name of ['x-webflow-timestamp', 'x-webflow-signature']) {
      const headers = await sign(body)
      headers.delete(name)
      expect(await webflow.verifyWebflow([SECRET], bytes(body), headers, NOW)).toBe('missing')
    }
  })

  it('rotation: the second configured secret passes', async () => {
    expect(await webflow.verifyWebflow(['webflow-retired-secret', SECRET], bytes(body), await sign(body), NOW)).toBe('ok')
  })

  it("the event key is the submission's id, the type triggerType", async () => {
    expect(await webflow.eventOf(bytes(body))).toEqual({ id: '6321ca84df3949bfc6752327', type: 'form_submission', from: 'provider' })
  })
})

describe('Jotform (unsigned: a token in the URL)', () => {
  const TOKEN = 'jotform-url-token-1'
  // As sent on the wire: CRLF line breaks (the fixture is stored with LF).
  const multipart = jotformMultipart.replaceAll('\r\n', '\n').replaceAll('\n', '\r\n')
  const contentType = 'multipart/form-data; boundary=------------------------J1JNT4vbVO4FCC1qLG4HSv'

  it('the configured token passes', async () => {
    expect(await jotform.verifyJotformToken([TOKEN], TOKEN)).toBe('ok')
  })

  it('a wrong token is a mismatch', async () => {
    expect(await jotform.verifyJotformToken([TOKEN], `${TOKEN}x`)).toBe('mismatch')
  })

  it('no token is missing', async () => {
    expect(await jotform.verifyJotformToken([TOKEN], null)).toBe('missing')
    expect(await jotform.verifyJotformToken([TOKEN], '')).toBe('missing')
  })

  it('rotation: the second configured token passes', async () => {
    expect(await jotform.verifyJotformToken(['jotform-retired-token', TOKEN], TOKEN)).toBe('ok')
  })

  it("the event key is the real body's submissionID", async () => {
    const key = await jotform.eventOf(bytes(multipart), new Headers({ 'content-type': contentType }))
    expect(key).toEqual({ id: '6084250982513018472', type: 'submission', from: 'provider' })
  })

  it('the real body carries the answers as JSON in rawRequest', async () => {
    const form = await new Response(multipart, { headers: { 'content-type': contentType } }).formData()
    expect(JSON.parse(form.get('rawRequest') as string)).toMatchObject({ q3_studentsName: { first: 'Niloth', last: 'P' } })
  })

  it('a body that is not multipart is keyed by its hash', async () => {
    const key = await jotform.eventOf(bytes('{"submissionID":"1"}'), new Headers({ 'content-type': 'application/json' }))
    expect(key).toMatchObject({ type: 'submission', from: 'body' })
  })
})

describe('every signed preset', () => {
  it('answers missing when the request has no headers at all', async () => {
    for (const preset of Object.values(SIGNED_PRESETS)) {
      expect(await preset.verify(['a-secret'], bytes('{}'), new Headers(), NOW)).toBe('missing')
    }
  })

  it('keys a non-JSON body by its SHA-256, the same for the same bytes', async () => {
    for (const preset of Object.values(SIGNED_PRESETS)) {
      const [a, b] = await Promise.all([preset.eventOf(bytes('not json'), new Headers()), preset.eventOf(bytes('not json'), new Headers())])
      expect(a).toEqual(b)
      expect(a.from).toBe('body')
    }
  })
})
