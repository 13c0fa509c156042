/**
 * A country as people write it ("DE", "Germany", "United Kingdom", "USA") read as ISO 3166-1
 * alpha-2, for the record's address and the phones' default country. The English names come
 * from the runtime's own ICU data (Intl.DisplayNames) over the countries the phone metadata
 * knows, so the bundle carries only the aliases ICU does not give; none of it runs until a
 * country is read.
 */
// The countries of the phone metadata (identity.ts checks `default_country` against the same list).
import phoneCountries from './phone-countries.json'

const CODES = new Set(phoneCountries as string[])

/** Names people write that ICU's short English names are not ("USA", "UK", "Holland"). */
const ALIASES: Record<string, string> = {
  usa: 'US',
  'united states of america': 'US',
  america: 'US',
  'u s a': 'US',
  'u s': 'US',
  uk: 'GB',
  'u k': 'GB',
  'great britain': 'GB',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  'united kingdom of great britain and northern ireland': 'GB',
  deutschland: 'DE',
  holland: 'NL',
  'the netherlands': 'NL',
  turkey: 'TR',
  'czech republic': 'CZ',
  'russian federation': 'RU',
  'south korea': 'KR',
  'republic of korea': 'KR',
  korea: 'KR',
  'ivory coast': 'CI',
  burma: 'MM',
  swaziland: 'SZ',
  macedonia: 'MK',
  'cabo verde': 'CV',
  'holy see': 'VA',
  vatican: 'VA',
  'hong kong': 'HK',
  macau: 'MO',
  macao: 'MO',
  palestine: 'PS',
  'east timor': 'TL',
  'viet nam': 'VN',
  'democratic republic of the congo': 'CD',
  'republic of the congo': 'CG',
  uae: 'AE',
}

/** Lower case, no accents, "&" as "and", "St." as "saint", punctuation as spaces. */
const fold = (text: string): string =>
  text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/\bst\.?(?=\s)/g, 'saint')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()

let names: Map<string, string> | undefined

/** Folded English name → code: ICU's names (and the part before a parenthesis: "Myanmar (Burma)"), then the aliases. */
function table(): Map<string, string> {
  if (names) return names
  const map = new Map<string, string>()
  let display: Intl.DisplayNames | undefined
  try {
    display = new Intl.DisplayNames(['en'], { type: 'region' })
  } catch {
    // A runtime without ICU region names still reads codes and the aliases.
  }
  for (const code of CODES) {
    const name = display?.of(code)
    if (!name || name === code) continue
    map.set(fold(name), code)
    const bare = name.replace(/\s*\(.*\)\s*$/, '').replace(/\s+SAR China$/, '')
    if (bare !== name) map.set(fold(bare), code)
  }
  for (const [alias, code] of Object.entries(ALIASES)) map.set(fold(alias), code)
  names = map
  return map
}

/** The ISO 3166-1 alpha-2 code of a country written as a code or an English name; undefined when it can't be read. */
export function countryCode(text: string | undefined): string | undefined {
  const clean = (text ?? '').trim()
  if (!clean || clean.length > 100) return undefined
  if (/^[A-Za-z]{2}$/.test(clean)) {
    const code = clean.toUpperCase()
    if (code === 'UK') return 'GB'
    return CODES.has(code) ? code : undefined
  }
  const folded = fold(clean)
  return table().get(folded) ?? table().get(folded.replace(/^the /, ''))
}
