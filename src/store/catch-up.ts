/**
 * The catch-up's watermark per endpoint and lead form (D1 `catch_up_marks`, migration 0012):
 * how far back the next read of a form's leads starts. Written only after a read's leads are
 * durably queued (sources/catch-up.ts), so a run that stops half-way reads them again next time.
 */

/** The creation time (unix seconds) of the newest lead seen, or undefined when the form was never read. */
export async function markOf(db: D1Database, source: string, form: string): Promise<number | undefined> {
  const row = await db.prepare(`SELECT seen_until FROM catch_up_marks WHERE source = ?1 AND form = ?2`).bind(source, form).first<{ seen_until: number }>()
  return row?.seen_until
}

/** Moves the mark forward (never back: two runs at once can't undo each other). */
export async function moveMark(db: D1Database, source: string, form: string, seenUntil: number, now = Date.now()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO catch_up_marks (source, form, seen_until, updated_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (source, form) DO UPDATE SET seen_until = MAX(seen_until, ?3), updated_at = ?4`,
    )
    .bind(source, form, seenUntil, now)
    .run()
}
