/**
 * The two edits `npm run setup` makes to wrangler.toml: one string key's value in one table
 * (the D1 database's `database_id`, `[vars]`'s `UNIFIED_CONNECTION_ID`), changed in place on its
 * own line so every comment, the order and the formatting stay as the user left them.
 * A TOML library would rewrite the whole file.
 */

/** A table header line (`[vars]`, `[[d1_databases]]`, `[vars.FORMS.contact]`) and its name. */
const HEADER = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/

/** The lines of each `[[name]]` / `[name]` table: [first line after the header, end) index pairs. */
function tables(lines: string[], name: string): [number, number][] {
  const found: [number, number][] = []
  let open: number | undefined
  lines.forEach((line, i) => {
    const m = HEADER.exec(line)
    if (!m) return
    if (open !== undefined) found.push([open, i])
    open = m[2] === name ? i + 1 : undefined
  })
  if (open !== undefined) found.push([open, lines.length])
  return found
}

const keyLine = (key: string) => new RegExp(`^(\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*')(.*)$`)

/** A TOML basic string: JSON's escapes are TOML's for the characters an id or key can hold. */
const tomlString = (value: string) => JSON.stringify(value)

/**
 * `text` with `key = "value"` in the first `[table]` (or `[[table]]` entry) that `pick` accepts:
 * the key's line changed in place (its comment kept), or added after the table's last key.
 * Throws when no such table exists: the caller's config names it, so that is a broken file.
 */
export function setTomlString(text: string, table: string, key: string, value: string, pick: (lines: string[]) => boolean = () => true): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const lines = text.split(/\r?\n/)
  const range = tables(lines, table).find(([from, to]) => pick(lines.slice(from, to)))
  if (!range) throw new Error(`wrangler.toml has no [${table}] table to set ${key} in`)
  const [from, to] = range
  const pattern = keyLine(key)
  for (let i = from; i < to; i++) {
    const m = pattern.exec(lines[i]!)
    if (m) {
      lines[i] = `${m[1]}${tomlString(value)}${m[3]}`
      return lines.join(eol)
    }
  }
  // No such key yet: after the table's last non-blank, non-comment line.
  let at = from
  for (let i = from; i < to; i++) if (/^\s*[^\s#]/.test(lines[i]!)) at = i + 1
  lines.splice(at, 0, `${key} = ${tomlString(value)}`)
  return lines.join(eol)
}

/** The `[[d1_databases]]` entry of `name`: its lines hold `database_name = "<name>"`. */
export const databaseNamed = (name: string) => (lines: string[]) => lines.some((l) => keyLine('database_name').exec(l)?.[2]?.slice(1, -1) === name)
