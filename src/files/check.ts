/**
 * A form's file, checked before anything is stored or queued: its size (413), and its type as
 * declared by the browser and as its first bytes say (415). HTML, SVG, scripts and executables
 * are refused whatever a form allows: the Worker serves files back, and one of those served
 * from its own origin could run there. A file whose bytes are not the type it claims is refused too.
 */
import type { FilesConfig } from '../config'
import { problem } from '../http/problem'

/** Never taken, whatever a form's `types` say (`image/*` would otherwise take SVG). */
const NEVER = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/(x-)?javascript|application\/x-(msdownload|executable|mach-binary|sh|shellscript)|application\/x-msdos-program|application\/vnd\.microsoft\.portable-executable)$/

/** Declared names of the same type. */
const ALIASES: Record<string, string> = { 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'application/x-pdf': 'application/pdf' }

const startsWith = (bytes: Uint8Array, sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b)
const ascii = (s: string) => [...s].map((ch) => ch.charCodeAt(0))

/** Types whose first bytes are known: a file declared as one of them must start with them. */
const SIGNATURES: [string, (b: Uint8Array) => boolean][] = [
  ['application/pdf', (b) => startsWith(b, ascii('%PDF-'))],
  ['image/png', (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['image/jpeg', (b) => startsWith(b, [0xff, 0xd8, 0xff])],
  ['image/gif', (b) => startsWith(b, ascii('GIF87a')) || startsWith(b, ascii('GIF89a'))],
  ['image/webp', (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8)],
]

/** What runs or renders if served inline: executables (PE, ELF, Mach-O), scripts, and markup a browser sniffs as HTML or SVG. */
function dangerous(b: Uint8Array): boolean {
  if (startsWith(b, ascii('MZ')) || startsWith(b, [0x7f, 0x45, 0x4c, 0x46]) || startsWith(b, ascii('#!'))) return true
  if ([[0xca, 0xfe, 0xba, 0xbe], [0xfe, 0xed, 0xfa, 0xce], [0xfe, 0xed, 0xfa, 0xcf], [0xcf, 0xfa, 0xed, 0xfe], [0xce, 0xfa, 0xed, 0xfe]].some((s) => startsWith(b, s))) return true
  // The WHATWG MIME sniffing standard's HTML patterns (and XML/SVG), after a BOM and whitespace.
  const head = new TextDecoder().decode(b.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart().toLowerCase()
  return /^<(!doctype html|html|head|body|script|iframe|svg|\?xml|!--|title|style|div|a[\s>]|img|table|font|br|p[\s>]|h1|b[\s>])/.test(head)
}

/** The sniffed type of `bytes`, when it is one the signatures know. */
export const sniff = (bytes: Uint8Array): string | undefined => SIGNATURES.find(([, test]) => test(bytes))?.[0]

const allows = (types: string[], type: string) => types.some((t) => t === type || (t.endsWith('/*') && type.startsWith(t.slice(0, -1))))

export interface CheckedFile {
  bytes: ArrayBuffer
  type: string
  /** The name it was sent under, reduced to what is safe in a Content-Disposition header. */
  name: string
}

/** A name safe to quote in Content-Disposition: letters, digits, dot, dash, underscore; at most 100 characters. */
const safeName = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(-100) || 'file'

const refused = (detail: string) => problem(415, 'unsupported-file-type', 'File type not accepted', { detail })

/**
 * The file a form post brought under `config.field`, checked; undefined when none was chosen
 * (a browser sends an empty part then). Throws 400 (several files), 413 (too large) or 415 (refused type).
 */
export async function checkUpload(config: FilesConfig, files: File[] | undefined): Promise<CheckedFile | undefined> {
  const chosen = (files ?? []).filter((f) => f.size > 0 || f.name)
  if (chosen.length === 0) return undefined
  if (chosen.length > 1) {
    throw problem(400, 'too-many-files', 'One file per post', { detail: `${config.field} takes one file.`, 'invalid-params': [{ name: config.field, reason: 'takes one file' }] })
  }
  const file = chosen[0]!
  if (file.size > config.max_bytes) {
    throw problem(413, 'file-too-large', 'File too large', { detail: `${config.field} takes files of at most ${config.max_bytes} bytes.` })
  }
  if (file.size === 0) throw problem(400, 'empty-file', 'Empty file', { detail: `The file sent as ${config.field} is empty.` })
  const declared0 = (file.type || 'application/octet-stream').split(';')[0]!.trim().toLowerCase()
  const declared = ALIASES[declared0] ?? declared0
  const bytes = await file.arrayBuffer()
  const head = new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 512))
  if (NEVER.test(declared) || dangerous(head)) throw refused('HTML, SVG, scripts and executables are never accepted.')
  if (!allows(config.types, declared)) throw refused(`${config.field} takes ${config.types.join(', ')}; this file is ${declared}.`)
  const sniffed = sniff(head)
  const known = SIGNATURES.some(([type]) => type === declared)
  if ((sniffed && sniffed !== declared) || (!sniffed && known)) {
    throw refused(`The file sent as ${config.field} says it is ${declared}, but its content is ${sniffed ? `a ${sniffed}` : `not a ${declared}`}.`)
  }
  return { bytes, type: declared, name: safeName(file.name) }
}
