/**
 * What one submission costs on Cloudflare's meters, counted where the Worker touches them, for
 * `npm run bench -- cost` (bench/scenarios/cost.ts). Only with METER_OPERATIONS = "true" (the bench
 * sets it on its local Worker); otherwise `metered` hands the bindings back untouched, so a deployed
 * Worker pays nothing for it.
 *
 * The counts are the units Cloudflare bills: invocations, Durable Object requests (each RPC call on a
 * stub is one), queue operations (a message is written, read and deleted: one each per 64 KB), D1
 * queries with the rows read and written that D1's own `meta` reports, and R2 operations by class.
 * They live in this module, so in one isolate (wrangler dev runs the Worker and its Durable Objects
 * in one) they add up across the Worker and its objects; `GET /operator/meter` reads them.
 */

export const METER_KEYS = [
  'invocations',
  'durableObjectRequests',
  'queueOperations',
  'd1Queries',
  'd1RowsRead',
  'd1RowsWritten',
  'r2ClassA',
  'r2ClassB',
] as const
export type Meter = Record<(typeof METER_KEYS)[number], number>

const zero = (): Meter => Object.fromEntries(METER_KEYS.map((k) => [k, 0])) as Meter
let counts = zero()

export const meterOn = (env: object) => (env as { METER_OPERATIONS?: string }).METER_OPERATIONS === 'true'

/** The counts so far; `reset` starts them again from zero. */
export function readMeter(reset = false): Meter {
  const now = counts
  if (reset) counts = zero()
  return now
}

export function count(key: keyof Meter, n = 1) {
  counts[key] += n
}

/** Queue operations bill per 64 KB of a message. */
const queueUnits = (body: unknown) => Math.max(1, Math.ceil(JSON.stringify(body ?? null).length / 65_536))

type Meta = { rows_read?: number; rows_written?: number } | undefined
const addMeta = (meta: Meta) => {
  count('d1Queries')
  count('d1RowsRead', meta?.rows_read ?? 0)
  count('d1RowsWritten', meta?.rows_written ?? 0)
}

/** `target` with some methods replaced; every other method still runs on the real binding. */
function wrap<T extends object>(target: T, overrides: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof T]
      const value = Reflect.get(t, key)
      return typeof value === 'function' ? value.bind(t) : value
    },
  })
}

/** The statement a wrapped one stands for, for db.batch. */
const realStatement = new WeakMap<object, D1PreparedStatement>()

function statement(s: D1PreparedStatement): D1PreparedStatement {
  const wrapped = wrap(s, {
    bind: (...values: unknown[]) => statement(s.bind(...values)),
    run: async () => {
      const r = await s.run()
      addMeta(r.meta)
      return r
    },
    all: async () => {
      const r = await s.all()
      addMeta(r.meta)
      return r
    },
    // first() and raw() report no meta: read through all(), which returns the same rows with it.
    first: async (column?: string) => {
      const r = await s.all<Record<string, unknown>>()
      addMeta(r.meta)
      const row = r.results[0]
      return row === undefined ? null : column === undefined ? row : row[column]
    },
    raw: async (options?: { columnNames?: boolean }) => {
      const r = await s.all<Record<string, unknown>>()
      addMeta(r.meta)
      const rows = r.results.map((row) => Object.values(row))
      return options?.columnNames ? [Object.keys(r.results[0] ?? {}), ...rows] : rows
    },
  })
  realStatement.set(wrapped, s)
  return wrapped
}

const database = (db: D1Database): D1Database =>
  wrap(db, {
    prepare: (sql: string) => statement(db.prepare(sql)),
    batch: async (statements: D1PreparedStatement[]) => {
      const rs = await db.batch(statements.map((s) => realStatement.get(s) ?? s))
      for (const r of rs) addMeta(r.meta)
      return rs
    },
    exec: async (sql: string) => {
      const r = await db.exec(sql)
      count('d1Queries', r.count)
      return r
    },
  })

const queue = <T>(q: Queue<T>): Queue<T> =>
  wrap(q, {
    send: (body: T, options?: QueueSendOptions) => {
      count('queueOperations', queueUnits(body))
      return q.send(body, options)
    },
    sendBatch: (messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) => {
      const list = [...messages]
      for (const m of list) count('queueOperations', queueUnits(m.body))
      return q.sendBatch(list, options)
    },
  })

/** Every method called on a stub is one billed request to the object. */
const stub = <S extends object>(s: S): S =>
  new Proxy(s, {
    get(target, key) {
      const value = Reflect.get(target, key)
      if (typeof value !== 'function' || typeof key === 'symbol' || key === 'then') return value
      return (...args: unknown[]) => {
        count('durableObjectRequests')
        return Reflect.apply(value, target, args)
      }
    },
  })

const namespace = (ns: DurableObjectNamespace): DurableObjectNamespace =>
  wrap(ns, {
    get: (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) => stub(ns.get(id, options)),
    getByName: (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) => stub(ns.getByName(name, options)),
  })

/** R2: writes and lists are Class A, reads and heads Class B (deletes are free). */
const CLASS = { put: 'r2ClassA', list: 'r2ClassA', createMultipartUpload: 'r2ClassA', get: 'r2ClassB', head: 'r2ClassB' } as const
const bucket = (b: R2Bucket): R2Bucket =>
  wrap(
    b,
    Object.fromEntries(
      Object.entries(CLASS).map(([key, cls]) => [
        key,
        (...args: unknown[]) => {
          count(cls)
          return (b as unknown as Record<string, (...a: unknown[]) => unknown>)[key]!(...args)
        },
      ]),
    ) as Partial<Record<keyof R2Bucket, unknown>>,
  )

const isD1 = (v: unknown): v is D1Database => typeof (v as D1Database)?.prepare === 'function' && typeof (v as D1Database)?.batch === 'function'
const isQueue = (v: unknown): v is Queue => typeof (v as Queue)?.send === 'function' && typeof (v as Queue)?.sendBatch === 'function'
const isNamespace = (v: unknown): v is DurableObjectNamespace => typeof (v as DurableObjectNamespace)?.idFromName === 'function'
const isBucket = (v: unknown): v is R2Bucket => typeof (v as R2Bucket)?.put === 'function' && typeof (v as R2Bucket)?.head === 'function'

/** The bindings, counted when METER_OPERATIONS = "true"; else the same object, untouched. */
export function metered<E extends object>(env: E): E {
  if (!meterOn(env)) return env
  const out: Record<string, unknown> = { ...(env as Record<string, unknown>) }
  for (const [name, value] of Object.entries(env)) {
    if (isD1(value)) out[name] = database(value)
    else if (isQueue(value)) out[name] = queue(value)
    else if (isNamespace(value)) out[name] = namespace(value)
    else if (isBucket(value)) out[name] = bucket(value)
  }
  return out as E
}
