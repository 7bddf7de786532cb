import { createHash, timingSafeEqual } from 'node:crypto'
import { BaseError } from '../errors/index.js'

/**
 * The `Content-Digest` field value (RFC 9530) of a body: its SHA-256 as a structured-field byte sequence.
 *
 * @example contentDigest('{"jsonrpc":"2.0"}') // 'sha-256=:…base64…:'
 */
export function contentDigest(body: Uint8Array | string): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  return `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`
}

/** The digest algorithms a `Content-Digest` may use here (RFC 9530 §5: the two "standard" ones). */
const digestAlgorithms = { 'sha-256': 'sha256', 'sha-512': 'sha512' } as const

/**
 * Whether a `Content-Digest` field value matches the body: every `sha-256` and `sha-512` member must be a byte
 * sequence equal to the body's digest, and at least one of them must be there (other algorithms are ignored: a
 * digest we cannot compute proves nothing). A missing or malformed field is `false`, never an exception.
 *
 * @example checkContentDigest(request.headers.get('content-digest'), body) // true
 */
export function checkContentDigest(header: string | null, body: Uint8Array): boolean {
  if (header === null) return false
  let members: SfDictionary
  try {
    members = parseSfDictionary(header)
  } catch {
    return false
  }
  let checked = 0
  for (const [name, algorithm] of Object.entries(digestAlgorithms)) {
    const member = members.get(name)
    if (member === undefined) continue
    if (member.kind !== 'item' || member.value.type !== 'bytes') return false
    const expected = createHash(algorithm).update(body).digest()
    const given = member.value.value
    // Lengths are public (fixed per algorithm); the comparison of the bytes themselves is constant-time.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
    checked++
  }
  return checked > 0
}

// RFC 8941 structured fields: the subset Content-Digest (RFC 9530) and HTTP Message Signatures (RFC 9421) use.
// It lives here because Content-Digest is the lowest layer that needs it; httpSignature.ts builds on this file.

/** A structured-field bare item (RFC 8941 §3.3), tagged with its type so a string never passes for a token. */
export type SfBareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'boolean'; value: boolean }

/** Parameters of an item or inner list, in order (RFC 8941 §3.1.2). */
export type SfParams = Map<string, SfBareItem>

/** An item with its parameters (RFC 8941 §3.3). */
export type SfItem = { kind: 'item'; value: SfBareItem; params: SfParams }

/** An inner list with its parameters (RFC 8941 §3.1.1). */
export type SfInnerList = { kind: 'list'; items: SfItem[]; params: SfParams }

/** A dictionary (RFC 8941 §3.2): ordered members, each an item or an inner list. */
export type SfDictionary = Map<string, SfItem | SfInnerList>

/** Longest field value parsed: these fields are a few hundred characters; anything far larger is abuse. */
const maxFieldLength = 8192

/**
 * Parses a structured-field dictionary (RFC 8941 §4.2.2), strictly: any deviation from the grammar fails.
 * Messages name the position only, never the content (the text comes from whoever sent the request).
 *
 * @example parseSfDictionary('sig1=("@method");created=1').get('sig1') // { kind: 'list', items: [...], params }
 * @throws {BaseError} INVALID_INPUT: the text is not a dictionary
 */
export function parseSfDictionary(text: string): SfDictionary {
  if (text.length > maxFieldLength)
    throw new BaseError('INVALID_INPUT', `The structured field is longer than ${maxFieldLength} characters.`)
  const p = new SfParser(text)
  const dictionary: SfDictionary = new Map()
  p.skip(' ')
  if (p.done()) return dictionary
  for (;;) {
    const key = p.key()
    let member: SfItem | SfInnerList
    if (p.peek() === '=') {
      p.pos++
      member = p.peek() === '(' ? p.innerList() : p.item()
    } else member = { kind: 'item', value: { type: 'boolean', value: true }, params: p.params() }
    // RFC 8941: a repeated key overwrites the value and keeps its first position, which Map.set does.
    dictionary.set(key, member)
    p.skip(' \t')
    if (p.done()) return dictionary
    if (p.peek() !== ',') p.fail('expected "," between members')
    p.pos++
    p.skip(' \t')
    if (p.done()) p.fail('trailing ","')
  }
}

/**
 * Serializes an inner list with its parameters (RFC 8941 §4.1.1.1): the canonical text both the signer and the
 * verifier put in the `@signature-params` line of a signature base.
 *
 * @example serializeSfInnerList({ kind: 'list', items: [], params: new Map([['created', { type: 'integer', value: 1 }]]) }) // '();created=1'
 * @throws {BaseError} INVALID_INPUT: a value cannot be serialized (a non-ASCII string, an integer out of range)
 */
export function serializeSfInnerList(list: SfInnerList): string {
  const items = list.items.map((item) => serializeBareItem(item.value) + serializeParams(item.params))
  return `(${items.join(' ')})${serializeParams(list.params)}`
}

function serializeParams(params: SfParams): string {
  let out = ''
  for (const [key, value] of params) {
    if (!/^[a-z*][a-z0-9_\-.*]*$/.test(key)) throw unserializable('parameter name')
    out += value.type === 'boolean' && value.value ? `;${key}` : `;${key}=${serializeBareItem(value)}`
  }
  return out
}

function serializeBareItem(item: SfBareItem): string {
  switch (item.type) {
    case 'integer':
      if (!Number.isInteger(item.value) || Math.abs(item.value) > 999_999_999_999_999)
        throw unserializable('integer')
      return String(item.value)
    case 'decimal': {
      const rounded = Math.round(item.value * 1000) / 1000
      if (!Number.isFinite(rounded) || Math.abs(rounded) >= 1e12) throw unserializable('decimal')
      return Number.isInteger(rounded) ? `${rounded}.0` : String(rounded)
    }
    case 'string':
      if (!/^[\x20-\x7e]*$/.test(item.value)) throw unserializable('string (printable ASCII only)')
      return `"${item.value.replace(/[\\"]/g, '\\$&')}"`
    case 'token':
      if (!/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(item.value)) throw unserializable('token')
      return item.value
    case 'bytes':
      return `:${Buffer.from(item.value).toString('base64')}:`
    case 'boolean':
      return item.value ? '?1' : '?0'
  }
}

function unserializable(what: string): BaseError {
  return new BaseError('INVALID_INPUT', `A structured-field value cannot be serialized: not a valid ${what}.`)
}

const isDigit = (c: string) => c >= '0' && c <= '9'
const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
const isLcalpha = (c: string) => c >= 'a' && c <= 'z'
const tchar = "!#$%&'*+-.^_`|~"
const strictBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** A cursor over field text; each method parses one production of RFC 8941 §4.2 or fails. */
class SfParser {
  pos = 0
  constructor(readonly text: string) {}

  done(): boolean {
    return this.pos >= this.text.length
  }
  peek(): string {
    return this.text.charAt(this.pos)
  }
  skip(chars: string): void {
    while (!this.done() && chars.includes(this.peek())) this.pos++
  }
  fail(what: string): never {
    throw new BaseError('INVALID_INPUT', `Malformed structured field: ${what} at character ${this.pos + 1}.`)
  }

  key(): string {
    const start = this.pos
    const first = this.peek()
    if (!(isLcalpha(first) || first === '*')) this.fail('expected a key (lowercase letter or "*")')
    this.pos++
    while (!this.done()) {
      const c = this.peek()
      if (!(isLcalpha(c) || isDigit(c) || '_-.*'.includes(c))) break
      this.pos++
    }
    return this.text.slice(start, this.pos)
  }

  innerList(): SfInnerList {
    this.pos++ // "("
    const items: SfItem[] = []
    for (;;) {
      this.skip(' ')
      if (this.done()) this.fail('unterminated inner list')
      if (this.peek() === ')') {
        this.pos++
        return { kind: 'list', items, params: this.params() }
      }
      items.push(this.item())
      const c = this.peek()
      if (c !== ' ' && c !== ')') this.fail('expected " " or ")" in an inner list')
    }
  }

  item(): SfItem {
    const value = this.bareItem()
    return { kind: 'item', value, params: this.params() }
  }

  params(): SfParams {
    const params: SfParams = new Map()
    while (this.peek() === ';') {
      this.pos++
      this.skip(' ')
      const key = this.key()
      let value: SfBareItem = { type: 'boolean', value: true }
      if (this.peek() === '=') {
        this.pos++
        value = this.bareItem()
      }
      params.set(key, value)
    }
    return params
  }

  bareItem(): SfBareItem {
    const c = this.peek()
    if (c === '-' || isDigit(c)) return this.number()
    if (c === '"') return this.string()
    if (c === ':') return this.bytes()
    if (c === '?') return this.boolean()
    if (isAlpha(c) || c === '*') return this.token()
    return this.fail('expected an item')
  }

  number(): SfBareItem {
    const start = this.pos
    if (this.peek() === '-') this.pos++
    const intStart = this.pos
    while (isDigit(this.peek())) this.pos++
    const intDigits = this.pos - intStart
    if (intDigits === 0) this.fail('expected a digit')
    if (this.peek() !== '.') {
      if (intDigits > 15) this.fail('integer longer than 15 digits')
      return { type: 'integer', value: Number(this.text.slice(start, this.pos)) }
    }
    if (intDigits > 12) this.fail('decimal longer than 12 integer digits')
    this.pos++
    const fracStart = this.pos
    while (isDigit(this.peek())) this.pos++
    const fracDigits = this.pos - fracStart
    if (fracDigits < 1 || fracDigits > 3) this.fail('decimal needs 1 to 3 fractional digits')
    return { type: 'decimal', value: Number(this.text.slice(start, this.pos)) }
  }

  string(): SfBareItem {
    this.pos++ // opening quote
    let out = ''
    for (;;) {
      if (this.done()) this.fail('unterminated string')
      const c = this.peek()
      this.pos++
      if (c === '"') return { type: 'string', value: out }
      if (c === '\\') {
        const next = this.peek()
        if (next !== '"' && next !== '\\') this.fail('invalid escape in a string')
        out += next
        this.pos++
      } else if (c < ' ' || c > '~') this.fail('non-printable character in a string')
      else out += c
    }
  }

  token(): SfBareItem {
    const start = this.pos
    this.pos++
    while (!this.done()) {
      const c = this.peek()
      if (!(isAlpha(c) || isDigit(c) || tchar.includes(c) || c === ':' || c === '/')) break
      this.pos++
    }
    return { type: 'token', value: this.text.slice(start, this.pos) }
  }

  bytes(): SfBareItem {
    this.pos++ // opening colon
    const end = this.text.indexOf(':', this.pos)
    if (end < 0) this.fail('unterminated byte sequence')
    const b64 = this.text.slice(this.pos, end)
    if (!strictBase64.test(b64)) this.fail('byte sequence is not base64')
    this.pos = end + 1
    return { type: 'bytes', value: new Uint8Array(Buffer.from(b64, 'base64')) }
  }

  boolean(): SfBareItem {
    this.pos++ // "?"
    const c = this.peek()
    if (c !== '0' && c !== '1') this.fail('expected ?0 or ?1')
    this.pos++
    return { type: 'boolean', value: c === '1' }
  }
}
