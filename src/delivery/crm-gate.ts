/**
 * The pace of one CRM connection. Every Unified call first takes a permit
 * here: a slot at which no rolling second holds more call starts than the rate
 * the CRM grants, never inside a Retry-After. Starts are counted, as the CRM
 * counts them, rather than spaced: a consumer's batch sends its calls together
 * and waits for the slowest, so spacing them out would idle the pipeline (a
 * batch of 10 people at 50 calls/s: 400 ms of spacing for 200 ms of calls).
 * The rate adapts by itself, like TCP's congestion control: it grows tenfold
 * for each second calls wait for it, until the first 429, which marks the CRM's
 * ceiling (the calls started in the second before the refused one); it is then
 * cut, grows back as fast to that ceiling (kept with a margin that widens when
 * the CRM counts calls closer than they were let go), and probes above it only
 * slowly. Or it is pinned (UNIFIED_MAX_CALLS_PER_SECOND), with a margin for the
 * call's way to the CRM. Unified's own workspace limit is a rolling 60 s
 * (docs.unified.to/guides/rate_limits_and_retries), and its 429 names the
 * allowance ("max requests per minute: N"): once named, no rolling minute of
 * call starts holds more than it, whatever a Retry-After said or left out.
 * A 403 that says a request limit was exceeded is a refusal too. A 503 that
 * says nothing of when pauses the connection 1 s, then 2, 4… while they keep
 * coming. One Durable Object per connection, so every writer of that
 * connection shares it; one round trip per call.
 *
 * It also holds the connection (held.ts): a 401, or a 403 that is not a rate
 * limit, marks it held; its leads wait in D1, an alarm probes it every minute,
 * and the first answer re-queues them all.
 *
 * (The class keeps its first name, CrmGate, from when it only held a
 * Retry-After: renaming a Durable Object class takes a migration.)
 */
import { DurableObject } from 'cloudflare:workers'
import { crmTarget } from '../crm/client'
import { CrmError } from '../crm/errors'
import { readCapabilities } from '../crm/integration'
import { type Capabilities, fallback } from '../crm/support'
import { sha256Hex } from '../lead/identity'
import { metered } from '../meter'
import { clearHeld, markHeld, markProbed } from '../store/held-connections'
import { onCleared, onHeld, onResumed } from './connection-hooks'
import { PROBE_EVERY_MS, probe, requeueHeld } from './held'

/** What the CRM supports is read again after a day… */
export const SUPPORT_MAX_AGE_MS = 24 * 60 * 60_000
/** …or, when it could not be read, after five minutes (meanwhile nothing is assumed). */
export const SUPPORT_RETRY_MS = 5 * 60_000

/** Calls a second before anything is known: below every CRM's published limit (HubSpot 10/s, Pipedrive 8/s…). */
export const START_RATE = 5
const MIN_RATE = 0.5
const MAX_RATE = 500
/** After a 429, the rate is cut to this share of the ceiling, and grows back to TARGET of it. */
const CUT = 0.7
const TARGET = 1
/**
 * Below the target, the rate grows this many times over for each second calls wait for it: a slow start
 * gentler than TCP's doubling per round trip, fast enough that a fresh connection to a CRM granting 50
 * calls/s finds it in about a second (×4 lost 1.5 s of the bench's R = 50 burst to the start).
 */
const GROWTH = 10
/** Above TARGET, the rate grows by this many calls a second for each second calls wait for it. */
const PROBE_PER_SECOND = 0.05
/** Unified's workspace limit counts calls in a rolling minute. */
const MINUTE_MS = 60_000
/**
 * A counted window is kept this much longer than the CRM's: the CRM counts a call from its arrival,
 * a little after its start here (the request on its way). 60 ms still met a 429 in the bench's pinned
 * burst on a quiet machine; 100 ms met none (and drained in 1.09x the ideal).
 */
const SECOND_MARGIN_MS = 100
/**
 * A learned rate's margin starts at a step and widens by a step for each 429 that came while the calls
 * counted here stayed within the ceiling (the CRM saw them closer together than they were let go).
 */
const MARGIN_STEP_MS = 50
const MAX_MARGIN_MS = 250
/** Refusals closer together than this are the CRM's limit dropping, not a call counted out of place. */
const REPEATED_MS = 3000
const MINUTE_MARGIN_MS = 500
/** A call let go whose writer never said it was sent (the writer was reset) stops counting after this long. */
const SENDING_MAX_MS = 10_000
/** A connection held again within this of a resume reads but refuses writes: probed less often, its alert kept open. */
const RECUR_MS = 10 * 60_000
/** The longest a held connection goes between probes. */
const MAX_PROBE_EVERY_MS = 60 * 60_000
/** A 503 without Retry-After pauses 1 s, doubling while they keep coming, up to this. */
const MAX_BACKOFF_S = 300
/** Quiet this long (or twice the last pause) after a 503, the next one starts again at 1 s. */
const BACKOFF_RESET_MS = 60_000

/** `report`: the pace counts this call's start, so the writer says when it sent it (sent()). */
export type Permit = { waitedMs: number; report?: true } | { deferMs: number }

/** A held connection: why, and since when. */
export interface Hold {
  reason: string
  since: number
}

/** A call waiting for its slot; re-planned when the CRM says 429 (its slot may now be inside a Retry-After). */
interface Waiter {
  at: number
  maxWaitMs: number
  pinned?: number
  since: number
  timer: ReturnType<typeof setTimeout>
  resolve: (p: Permit) => void
}

export class CrmGate extends DurableObject<Env> {
  #rate = START_RATE
  /** The calls a second at which the CRM said 429 (undefined until it has). */
  #ceiling: number | undefined
  /** When the rate last grew (or calls last went without waiting): it grows by the time calls wait for it. */
  #grownAt = 0
  #pausedUntil = 0
  #lastCut = 0
  /** The learned rate's margin (MARGIN_STEP_MS). */
  #margin = MARGIN_STEP_MS
  /** When calls started (in order), over the longest window counted: what the CRM's rolling windows hold. */
  #started: number[] = []
  /**
   * Calls let go whose writers have not yet said they sent them: under load a writer sends a while after
   * its permit, and a start counted at the permit would let later calls bunch with it at the CRM.
   * Until said, each counts as starting now.
   */
  #sending: number[] = []
  /** Calls a rolling minute, as Unified's 429 named it (undefined until one has). */
  #perMinute: number | undefined
  /** 503s without a Retry-After in a row, and when the last came: how long the next pause is. */
  #streak = 0
  #lastRefusal = 0
  #waiting: Waiter[] = []
  #loaded: Promise<void>

  constructor(ctx: DurableObjectState, env: Env) {
    // Counted for the cost bench only (meter.ts); otherwise the same bindings.
    super(ctx, metered(env))
    // A Retry-After and a learned ceiling outlive the object's eviction.
    this.#loaded = ctx.blockConcurrencyWhile(async () => {
      this.#pausedUntil = (await ctx.storage.get<number>('until')) ?? 0
      this.#ceiling = await ctx.storage.get<number>('ceiling')
      if (this.#ceiling) this.#rate = this.#ceiling * TARGET
      this.#perMinute = await ctx.storage.get<number>('perMinute')
    })
  }

  /**
   * The rolling windows counted: [calls, window ms]. The second, at the pinned or the learned rate (whole
   * calls: below 1 a second, one call per 1/rate s), and the named per-minute allowance. A pin counts the
   * starts writers said (sent()), with a margin; the learned rate counts grants, and learns its own margin.
   */
  #windows(pinned: number | undefined): [number, number][] {
    const rate = pinned ?? this.#rate
    const calls = Math.max(1, Math.floor(rate))
    const windows: [number, number][] = [[calls, Math.max(1000, (calls * 1000) / rate) + (pinned ? SECOND_MARGIN_MS : this.#margin)]]
    if (this.#perMinute) windows.push([this.#perMinute, MINUTE_MS + MINUTE_MARGIN_MS])
    return windows
  }

  /**
   * The earliest time after `times` (sorted, none later) at which no counted window would hold one call too many.
   * With `now`, a learned rate below its target counts as growing while calls wait (#grow): a call may go once
   * the rate has grown enough for it, when that comes before the window moves on.
   */
  #edge(times: number[], pinned: number | undefined, now?: number): number {
    let at = 0
    this.#windows(pinned).forEach(([calls, windowMs], i) => {
      if (times.length < calls) return
      let edge = times[times.length - calls]! + windowMs
      if (i === 0 && !pinned && now !== undefined) {
        const need = times.filter((t) => t > now - windowMs).length + 1
        if (need <= this.#target()) edge = Math.min(edge, Math.max(now, this.#grownAt + (1000 * Math.log(need / this.#rate)) / Math.log(GROWTH)))
      }
      at = Math.max(at, edge)
    })
    return at
  }

  /** What the learned rate grows to at GROWTH a second: the ceiling's TARGET, or without bound before the first 429. */
  #target(): number {
    return this.#ceiling === undefined ? MAX_RATE : this.#ceiling * TARGET
  }

  /** Starts older than every window counted are forgotten. */
  #prune(now: number): void {
    const cutoff = now - MINUTE_MS - MINUTE_MARGIN_MS
    const keep = this.#started.findIndex((t) => t > cutoff)
    this.#started = keep < 0 ? [] : keep > 0 ? this.#started.slice(keep) : this.#started
  }

  /** The first free slot: never inside a Retry-After, after the slots already granted, within the counted windows. */
  #first(now: number, pinned: number | undefined): number {
    this.#prune(now)
    const free = Math.max(now, this.#pausedUntil)
    // Slots granted to waiting calls count as starts: they will be by then (starts are in order, and mostly before them).
    const started = this.#counted(now)
    const slots = this.#waiting.map((w) => w.at).sort((a, b) => a - b)
    const planned = slots.length && slots[0]! < (started.at(-1) ?? 0) ? [...started, ...slots].sort((a, b) => a - b) : [...started, ...slots]
    return Math.max(free, slots.at(-1) ?? 0, this.#edge(planned, pinned, now))
  }

  /** The starts as counted now: those said, then those let go but not yet said (as starting now). */
  #counted(now: number): number[] {
    this.#sending = this.#sending.filter((t) => t > now - SENDING_MAX_MS)
    return this.#sending.length ? [...this.#started, ...this.#sending.map(() => now)] : this.#started
  }

  /**
   * Lets a call go now. A pin's start is counted when its writer says it sent it (one more request, for a
   * rate set by hand that must hold); a learned rate's, now (its ceiling was measured the same way).
   */
  #let(now: number, pinned: number | undefined, waitedMs: number): Permit {
    if (!pinned) {
      this.#started.push(now)
      return { waitedMs }
    }
    this.#sending.push(now)
    return { waitedMs, report: true }
  }

  /** A writer sent the call its permit let go: its start, as the CRM will count it (give or take the network). */
  async sent(): Promise<void> {
    this.#sending.shift()
    this.#started.push(Date.now())
  }

  /**
   * Answers when this call may go: at once, or after waiting here for its slot
   * (one round trip either way). When the first free slot is more than
   * `maxWaitMs` away, answers `deferMs` at once: the caller should come back
   * through the queue rather than hold a consumer.
   */
  async acquire(maxWaitMs: number, pinned?: number): Promise<Permit> {
    await this.#loaded
    const now = Date.now()
    if (!pinned) this.#grow(now)
    const at = this.#first(now, pinned)
    if (at - now > maxWaitMs) return { deferMs: at - now }
    if (at <= now) return this.#let(now, pinned, 0)
    return new Promise<Permit>((resolve) => this.#wait({ at, maxWaitMs, pinned, since: now, resolve, timer: undefined as never }))
  }

  #wait(w: Waiter): void {
    w.timer = setTimeout(() => this.#go(w), Math.max(0, w.at - Date.now()))
    this.#waiting.push(w)
  }

  /**
   * A waiting call's slot has come. Its window is counted again from the calls that really started:
   * under load a timer fires late, and those late starts may fill it; then it waits for the window's edge.
   */
  #go(w: Waiter): void {
    const now = Date.now()
    // It waited until now: time the rate held calls back.
    if (!w.pinned) this.#grow(now)
    this.#waiting = this.#waiting.filter((x) => x !== w)
    const edge = Math.max(this.#pausedUntil, this.#edge(this.#counted(now), w.pinned, now))
    if (edge > now) {
      w.at = edge
      this.#wait(w)
      return
    }
    w.resolve(this.#let(now, w.pinned, now - w.since))
  }

  /** After a 429, calls already waiting get new slots after the Retry-After, at the new rate (or go back to the queue). */
  #replan(): void {
    const waiting = this.#waiting.sort((a, b) => a.at - b.at)
    this.#waiting = []
    for (const w of waiting) {
      clearTimeout(w.timer)
      const now = Date.now()
      const first = this.#first(now, w.pinned)
      if (first - w.since > w.maxWaitMs) {
        w.resolve({ deferMs: first - now })
        continue
      }
      w.at = first
      this.#wait(w)
    }
  }

  /**
   * A call asks for a permit, or a waiting one goes: the rate grows by the time calls have waited for it
   * (GROWTH a second: before the first 429 without bound, after it up to the target, then by PROBE_PER_SECOND).
   * Calls that go at once are no sign the rate holds them back: no growth for that time. Counted from the last
   * grant, so a burst of permits at one instant does not multiply it.
   */
  #grow(now: number): void {
    // Before a ceiling is known, a pause (a Retry-After, a busy CRM) is what holds calls, not the rate: no slow start
    // while it lasts (a 15 s outage grew it to 500 calls/s). After one, the rate grows back to it within the pause.
    const from = this.#ceiling === undefined ? Math.max(this.#grownAt, Math.min(now, this.#pausedUntil)) : this.#grownAt
    const seconds = Math.min(1000, now - from) / 1000
    const held = this.#waiting.length > 0 || this.#edge(this.#counted(now), undefined) > now
    this.#grownAt = now
    if (!held || seconds <= 0) return
    const r = this.#rate
    const target = this.#target()
    if (r < target) this.#rate = Math.min(target, r * GROWTH ** seconds)
    else this.#rate = Math.min(MAX_RATE, r + PROBE_PER_SECOND * seconds)
  }

  /** Seconds to pause for a 503 that gave no Retry-After: 1, then doubling while they keep coming. */
  #backoff(now: number): number {
    const last = Math.min(MAX_BACKOFF_S, 2 ** Math.max(0, this.#streak - 1))
    if (now - this.#lastRefusal > Math.max(BACKOFF_RESET_MS, 2 * last * 1000)) this.#streak = 0
    this.#lastRefusal = now
    this.#streak += 1
    return Math.min(MAX_BACKOFF_S, 2 ** (this.#streak - 1))
  }

  /**
   * A 503 that says nothing of when to come back: the CRM is busy; no call for a while, longer while it stays so.
   * A call sent before the last 503 was counted was under way with it: the pause it set covers this one too
   * (a batch's calls go together, and ten 503s at once are one busy moment, not a 512 s pause).
   */
  async busy(sentAt?: number): Promise<void> {
    await this.#loaded
    if (sentAt !== undefined && sentAt < this.#lastRefusal) return
    const now = Date.now()
    await this.pause(now + this.#backoff(now) * 1000)
  }

  /**
   * The CRM refused for its rate (a 429, or a 403 saying a request limit was exceeded): no call before
   * its Retry-After (1 s when it gave none). A refusal that names its per-minute allowance (Unified's
   * workspace limit) sets the minute's count, and the second's rate was not at fault; any other lowers
   * the rate (once per second, however many calls were in flight).
   */
  async limited(retryAfterSeconds: number | undefined, perMinute?: number, sentAt?: number): Promise<void> {
    await this.#loaded
    const now = Date.now()
    const until = now + Math.max(1, retryAfterSeconds ?? 1) * 1000
    if (until > this.#pausedUntil) {
      this.#pausedUntil = until
      await this.ctx.storage.put('until', until)
    }
    if (perMinute) {
      // The refused call was not counted by Unified: it leaves the minute (the latest start stands for it).
      const refused = this.#started.findLastIndex((t) => t <= now)
      if (refused >= 0) this.#started.splice(refused, 1)
      if (perMinute !== this.#perMinute) {
        this.#perMinute = perMinute
        await this.ctx.storage.put('perMinute', perMinute)
      }
    } else if (now - this.#lastCut >= 1000) {
      const since = now - this.#lastCut
      this.#lastCut = now
      // The CRM took the calls started in the second before the refused one (its own start counted too, so less one);
      // calls let go while the refusal was on its way back are not what it refused.
      const at = Math.min(now, sentAt ?? now)
      const reached = this.#started.filter((t) => t > at - 1000 && t <= at).length - 1
      const known = this.#ceiling
      if (known === undefined) {
        // A first refusal after fewer calls in its second than the pace starts with measures no per-second limit
        // (one 429 in a lull: a fault, another limit): its pause only, unless another follows soon.
        if (reached < START_RATE && since >= REPEATED_MS) return this.#replan()
        this.#ceiling = Math.max(MIN_RATE, reached)
      } else if (since < REPEATED_MS) this.#ceiling = Math.max(MIN_RATE, reached, known * CUT)
      else if (reached >= known) this.#ceiling = reached // a probe above the ceiling found it where it was
      else {
        // A lone refusal within the ceiling: counted here, the calls fitted; at the CRM they did not, by a call.
        this.#ceiling = Math.max(MIN_RATE, known - 1)
        this.#margin = Math.min(MAX_MARGIN_MS, this.#margin + MARGIN_STEP_MS)
      }
      this.#rate = Math.max(MIN_RATE, this.#ceiling * CUT)
      await this.ctx.storage.put('ceiling', this.#ceiling)
    }
    this.#replan()
  }

  /** Another Retry-After (a 503 that says when to come back): no call before it, the rate unchanged. */
  async pause(until: number): Promise<void> {
    await this.#loaded
    if (until <= this.#pausedUntil) return
    this.#pausedUntil = until
    await this.ctx.storage.put('until', until)
    this.#replan()
  }

  #reading: Promise<Capabilities> | undefined

  /**
   * What the connection's integration supports (crm/support.ts): read on first use and then
   * daily, kept in this object's storage. A failure to read it never holds a lead: the answer
   * is then the fallback (nothing assumed), saying why, and it is read again in five minutes.
   * `connection`: this object's connection id (its name); `fresh`: read now (the operator's check).
   */
  async capabilities(connection: string, fresh = false): Promise<Capabilities> {
    const kept = await this.ctx.storage.get<Capabilities>('capabilities')
    const age = kept ? Date.now() - kept.at : Infinity
    if (!fresh && kept && age < (kept.from === 'unified' ? SUPPORT_MAX_AGE_MS : SUPPORT_RETRY_MS)) return kept
    this.#reading ??= (async () => {
      let caps: Capabilities
      try {
        caps = await readCapabilities(crmTarget(this.env, connection))
      } catch (error) {
        const message = (error as Error).message
        // Unified's own limit holds the CRM calls too: a refusal of this read is told to the pace like any other.
        if (error instanceof CrmError && error.limit === 'rate') await this.limited(error.retryAfter)
        else if (error instanceof CrmError && error.limit === 'busy') await this.busy()
        // A day-old answer is still better than none while Unified can't be asked.
        caps = kept?.from === 'unified' ? { ...kept, at: Date.now() - SUPPORT_MAX_AGE_MS + SUPPORT_RETRY_MS, error: message } : fallback(message, kept?.integration)
      }
      await this.ctx.storage.put('capabilities', caps)
      return caps
    })().finally(() => {
      this.#reading = undefined
    })
    return this.#reading
  }

  /**
   * Owner routing's round robin (crm/owner.ts): the next turn of `list`, one counter per list of
   * this connection. Storage calls hold the object's input gate, so two writers never get one turn.
   */
  async turn(list: string[]): Promise<number> {
    // Hashed: a storage key holds 2 KiB, a list of user ids may be longer.
    const key = `turn:${await sha256Hex(JSON.stringify(list))}`
    const n = (await this.ctx.storage.get<number>(key)) ?? 0
    await this.ctx.storage.put(key, n + 1)
    return n
  }

  /**
   * The probe's interval: a minute, doubling each time the connection is held again soon after a resume
   * (it reads but refuses writes: each probe answers, its leads are refused again), up to an hour.
   */
  #probeEvery(recurs: number): number {
    return Math.min(MAX_PROBE_EVERY_MS, PROBE_EVERY_MS * 2 ** recurs)
  }

  /** Whether the connection is held now (one round trip; the consumer asks before it writes). */
  async held(): Promise<Hold | null> {
    return (await this.ctx.storage.get<Hold>('held')) ?? null
  }

  /**
   * Holds the connection: its leads wait (the consumer marks them held), and the alarm probes it every
   * minute. Once per transition: onHeld, and the row /healthz?ready and the console read. Returns the hold.
   */
  async hold(connection: string, reason: string): Promise<Hold> {
    const kept = await this.ctx.storage.get<Hold>('held')
    if (kept) return kept
    // Writers of the connection refused at once all get here: one transition, one onHeld.
    this.#holding ??= (async () => {
      const now = Date.now()
      // Held again before the sweep a minute after a resume: the probe's read answered, the writes did not.
      const resumedAt = await this.ctx.storage.get<number>('resumedAt')
      const recurs = resumedAt !== undefined && now - resumedAt < RECUR_MS ? ((await this.ctx.storage.get<number>('recurs')) ?? 0) + 1 : 0
      const why = recurs ? `${reason}. Held again right after the probe's read answered: the connection reads but refuses writes (check its permissions to create and update records, in the CRM and in Unified)` : reason
      const hold = { reason: why, since: now }
      // D1 first: a hold the operator can't see must not exist (a failure here throws, and the consumer retries).
      await markHeld(this.env.DB, connection, why, hold.since)
      await this.ctx.storage.put({ held: hold, connection, recurs })
      await this.ctx.storage.delete('resumedAt')
      const every = this.#probeEvery(recurs)
      await this.ctx.storage.setAlarm(now + every)
      await onHeld(this.env, connection, why, every)
      return hold
    })().finally(() => {
      this.#holding = undefined
    })
    return this.#holding
  }

  #holding: Promise<Hold> | undefined

  /**
   * While held: the probe; once it answers, the connection is free again and every held
   * submission is queued again, then swept once more a minute later (one held by a consumer
   * that had asked just before the resume). Not held: that last sweep, and the operator told
   * it cleared (not before: held again meanwhile, it reads but refuses writes).
   */
  override async alarm(): Promise<void> {
    const connection = await this.ctx.storage.get<string>('connection')
    if (!connection) return
    const hold = await this.ctx.storage.get<Hold>('held')
    if (!hold) {
      await requeueHeld(this.env, connection)
      // Free since the resume a minute ago: it cleared.
      if ((await this.ctx.storage.get<number>('resumedAt')) !== undefined) {
        await this.ctx.storage.delete(['resumedAt', 'recurs'])
        await onCleared(this.env, connection)
      }
      return
    }
    const now = Date.now()
    const answer = await probe(this.env, connection)
    if (!answer.answers) {
      await markProbed(this.env.DB, connection, now)
      await this.ctx.storage.setAlarm(now + this.#probeEvery((await this.ctx.storage.get<number>('recurs')) ?? 0))
      return
    }
    await clearHeld(this.env.DB, connection)
    await this.ctx.storage.delete('held')
    // What the integration supports could not be read while our credentials were refused: read it again now, not in five minutes.
    if ((await this.ctx.storage.get<Capabilities>('capabilities'))?.from !== 'unified') await this.ctx.storage.delete('capabilities')
    await this.ctx.storage.put('resumedAt', now)
    const requeued = await requeueHeld(this.env, connection)
    await this.ctx.storage.setAlarm(Date.now() + PROBE_EVERY_MS)
    onResumed(connection, { heldMs: now - hold.since, requeued })
  }

  /** The connection's pace, for the operator and tests. */
  async state(): Promise<{ rate: number; ceiling?: number; perMinute?: number; pausedUntil: number }> {
    await this.#loaded
    return {
      rate: this.#rate,
      ...(this.#ceiling ? { ceiling: this.#ceiling } : {}),
      ...(this.#perMinute ? { perMinute: this.#perMinute } : {}),
      pausedUntil: this.#pausedUntil,
    }
  }
}

export const gateFor = (env: Env, connection: string): DurableObjectStub<CrmGate> =>
  env.CRM_GATE.get(env.CRM_GATE.idFromName(connection)) as DurableObjectStub<CrmGate>

/** The connection's capabilities, as its gate keeps them (one round trip; the gate reads Unified once a day). */
export const capabilitiesFor = (env: Env, connection: string, fresh = false): Promise<Capabilities> => gateFor(env, connection).capabilities(connection, fresh)
