/**
 * Structured JSON logs. Callers pass ids, counts and outcomes only: never an
 * email, phone, name, body or secret.
 */
type Level = 'info' | 'warn' | 'error'

export function log(level: Level, msg: string, fields: Record<string, string | number | boolean | undefined> = {}): void {
  console[level](JSON.stringify({ level, msg, ...fields }))
}
