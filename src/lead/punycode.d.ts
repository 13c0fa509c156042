/** punycode.js ships no types; lead-intake uses only its IDNA decoder (see identity.ts). */
declare module 'punycode.js' {
  /** `xn--bcher-kva.de` → `bücher.de`; other labels unchanged. Throws a RangeError on an invalid A-label. */
  export function toUnicode(domain: string): string
}
