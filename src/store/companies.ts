/**
 * The company ledger (D1 `company_keys`): each key a company is known by (its
 * domain, its normalized name), hashed, resolved to one company per connection
 * in one D1 transaction, as the identity ledger (ledger.ts) resolves a person.
 * The company's writer is named by the company this returns, so whichever key
 * led to it, one writer finds or creates it: a colleague's work domain and
 * another's free-mail post naming the company can't race to make two.
 */

const newCompanyId = () => `c${Date.now().toString(36).padStart(9, '0')}${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`

/**
 * The company `hashes` (at least one, strongest first: domain, then name) belong
 * to; the unclaimed ones are claimed for it. Keys already held by two companies
 * resolve to the one the strongest key names, then the oldest.
 */
export async function resolveCompany(db: D1Database, connection: string, hashes: string[], now = Date.now()): Promise<string> {
  // ?1 connection, ?2 a new company's id, ?3 now, ?4 this hash, ?5… all hashes, strongest first
  const list = hashes.map((_, i) => `?${i + 5}`).join(', ')
  const rank = `CASE hash ${hashes.map((_, i) => `WHEN ?${i + 5} THEN ${i}`).join(' ')} END`
  const holder = `SELECT company FROM company_keys WHERE connection = ?1 AND hash IN (${list}) ORDER BY ${rank}, linked_at, company LIMIT 1`
  const claim = db.prepare(
    `INSERT INTO company_keys (connection, hash, company, linked_at) VALUES (?1, ?4, coalesce((${holder}), ?2), ?3)
     ON CONFLICT (connection, hash) DO NOTHING`,
  )
  const fresh = newCompanyId()
  const args = (h: string) => [connection, fresh, now, h, ...hashes]
  const results = await db.batch<{ company: string }>([...hashes.map((h) => claim.bind(...args(h))), db.prepare(holder).bind(...args(hashes[0]!))])
  const company = results.at(-1)?.results[0]?.company
  if (!company) throw new Error('company ledger: no company after claiming') // the transaction guarantees one; a bug guard
  return company
}
