import { FetchFailedError, UntrustedFetchBlockedError } from '../errors/index.js'

/** Options of {@link parseDataUri}. */
export type ParseDataUriOptions = {
  /** Most decoded bytes accepted. Default 256 KiB. */
  maxBytes?: number | undefined
}

/** A decoded `data:` URI. */
export type ParseDataUriReturnType = {
  /** Lower-case media type essence (`application/json`); `text/plain` when absent or malformed. */
  mimeType: string
  /** Media type parameters with lower-case names (`{ charset: 'utf-8' }`). */
  parameters: Record<string, string>
  base64: boolean
  bytes: Uint8Array
}

const mimeEssence = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/
const asciiWhitespace = /[\t\n\f\r ]/g
const base64Body = /^[A-Za-z0-9+/]*$/

/**
 * Decodes a `data:` URI locally, as on-chain NFTs store their metadata (`data:application/json;base64,…`), without
 * any network access. Follows the WHATWG fetch rules (percent-decoding, forgiving base64) but keeps a `#` as data,
 * because on-chain JSON and SVG use it for colours; the size cap applies before and after decoding.
 *
 * @example
 * parseDataUri('data:application/json;base64,eyJhIjoxfQ==') // { mimeType: 'application/json', base64: true, bytes: … '{"a":1}' }
 * parseDataUri('data:,Hello%2C%20World') // { mimeType: 'text/plain', parameters: {}, base64: false, bytes: … 'Hello, World' }
 * @throws {FetchFailedError} the URI is malformed or its base64 is invalid
 * @throws {UntrustedFetchBlockedError} the decoded content is larger than `maxBytes`
 */
export function parseDataUri(uri: string, options: ParseDataUriOptions = {}): ParseDataUriReturnType {
  const maxBytes = options.maxBytes ?? 256 * 1024
  if (!/^data:/i.test(uri)) throw new FetchFailedError({ reason: 'not a data: URI' })
  const comma = uri.indexOf(',')
  if (comma < 0 || comma > 1024) {
    throw new FetchFailedError({ reason: 'malformed data: URI (no comma after a short media type)' })
  }
  // Percent-encoding takes at most 3 characters per byte; anything longer cannot fit the cap.
  if (uri.length - comma - 1 > maxBytes * 3 + 1024) throw tooLarge(maxBytes)

  const header = uri.slice(5, comma).trim()
  const parts = header.split(';').map((p) => p.trim())
  const last = parts[parts.length - 1] ?? ''
  const base64 = parts.length > 1 && last.toLowerCase() === 'base64'
  if (base64) parts.pop()
  const essence = (parts[0] ?? '').toLowerCase()
  const mimeType = mimeEssence.test(essence) ? essence : 'text/plain'
  const parameters: Record<string, string> = {}
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=')
    if (eq <= 0) continue
    const name = p.slice(0, eq).trim().toLowerCase()
    const value = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
    if (/^[a-z0-9!#$&^_.+-]{1,64}$/.test(name) && !Object.hasOwn(parameters, name)) parameters[name] = value
  }

  const raw = percentDecode(new TextEncoder().encode(uri.slice(comma + 1)))
  let bytes: Uint8Array = raw
  if (base64) {
    let text = Buffer.from(raw).toString('latin1').replace(asciiWhitespace, '')
    if (text.length % 4 === 0) text = text.replace(/={1,2}$/, '')
    if (text.length % 4 === 1 || !base64Body.test(text)) {
      throw new FetchFailedError({ reason: 'the data: URI has invalid base64 content' })
    }
    bytes = new Uint8Array(Buffer.from(text, 'base64'))
  }
  if (bytes.length > maxBytes) throw tooLarge(maxBytes)
  return { mimeType, parameters, base64, bytes }
}

function tooLarge(maxBytes: number): UntrustedFetchBlockedError {
  return new UntrustedFetchBlockedError({ reason: `the data: URI holds more than ${maxBytes} bytes` })
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}

/** WHATWG percent-decode: `%XX` becomes a byte, a `%` not followed by two hex digits stays. */
function percentDecode(input: Uint8Array): Uint8Array {
  if (!input.includes(0x25)) return input
  const out = new Uint8Array(input.length)
  let n = 0
  for (let i = 0; i < input.length; i++) {
    const byte = input[i] ?? 0
    const hi = byte === 0x25 ? hexValue(input[i + 1]) : -1
    const lo = hi >= 0 ? hexValue(input[i + 2]) : -1
    if (lo >= 0) {
      out[n++] = hi * 16 + lo
      i += 2
    } else {
      out[n++] = byte
    }
  }
  return out.subarray(0, n)
}
