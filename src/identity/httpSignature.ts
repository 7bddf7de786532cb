import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto'
import { BaseError } from '../errors/index.js'
import {
  checkContentDigest,
  parseSfDictionary,
  type SfBareItem,
  type SfDictionary,
  type SfInnerList,
  type SfItem,
  type SfParams,
  serializeSfInnerList,
} from './contentDigest.js'
import type { Ed25519Jwk } from './didKey.js'

/** The label Airlock signs under (RFC 9421 §4.1): one signature per request. */
const label = 'sig1'

/**
 * Headers covered whenever the request carries them: the body (through its digest), the bearer token, and the MCP
 * routing headers a gateway may act on before it reads the body.
 */
const coveredWhenPresent = [
  'content-digest',
  'authorization',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
]

/** The derived components (RFC 9421 §2.2) this implementation computes; `@query-param` and `@status` are not. */
const derivedComponents = [
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@path',
  '@query',
  '@request-target',
]

/** Upper bounds that keep a hostile Signature-Input cheap to refuse. */
const maxComponents = 32
const maxNonceLength = 128

/** The `@signature-params` of one signature, in the order Airlock writes them. All optional per RFC 9421 §2.3. */
export type SignatureParams = {
  created?: number
  expires?: number
  nonce?: string
  keyid?: string
  alg?: string
  tag?: string
}

/** What {@link signatureBase} needs: the request as the signer sends it or the verifier received it. */
export type SignatureBaseParameters = {
  method: string
  /** The absolute request URL, exactly as the signer wrote it (`@target-uri`). */
  url: string
  headers: Headers
  /** Covered component names, in order: derived (`@method`) or lowercase header names. */
  components: readonly string[]
  params: SignatureParams
}

/**
 * The RFC 9421 §2.5 signature base of a request: one `"<component>": <value>` line per covered component, then the
 * `"@signature-params"` line, joined with `\n` and no trailing newline. Exposed so tests (and other implementations)
 * can check byte for byte what is signed.
 *
 * @example
 * signatureBase({ method: 'POST', url: 'https://gw.example/mcp', headers, components: ['@method'], params: { created: 1 } })
 * // '"@method": POST\n"@signature-params": ("@method");created=1'
 * @throws {BaseError} INVALID_INPUT: a component is unsupported, repeated, or absent from the request
 */
export function signatureBase(parameters: SignatureBaseParameters): string {
  const { method, url, headers, components, params } = parameters
  return buildBase(
    { method, url, headers },
    components,
    serializeSfInnerList(toInnerList(components, params)),
  )
}

/** What {@link signRequest} needs. `key` is the agent's private Ed25519 JWK; `keyid` its did:key. */
export type SignRequestParameters = {
  method: string
  url: string
  headers: Headers
  key: Ed25519Jwk
  keyid: string
  /** Unix seconds; now by default. */
  created?: number
  /** Seconds the signature stays valid after `created`; 60 by default. */
  expiresIn?: number
  /** Fresh random (128 bits, base64url) by default; the verifier refuses one it has seen. */
  nonce?: string
  /** Application tag (RFC 9421 §2.3); `airlock-mcp` by default. */
  tag?: string
  /** Covered components; by default `@method`, `@target-uri` and each of {@link coveredWhenPresent} present. */
  components?: readonly string[]
}

/** The two header values to send: `Signature-Input` and `Signature`. */
export type SignRequestReturnType = { signatureInput: string; signature: string }

/**
 * Signs a request with RFC 9421 HTTP Message Signatures (Ed25519, label `sig1`). Set the returned values as the
 * `Signature-Input` and `Signature` headers; set `Content-Digest` and `Authorization` before signing so they are
 * covered.
 *
 * @example
 * const { signatureInput, signature } = await signRequest({ method: 'POST', url, headers, key: agentJwk, keyid: agentDid })
 * headers.set('signature-input', signatureInput)
 * headers.set('signature', signature)
 * @throws {BaseError} INVALID_INPUT: not a private Ed25519 key, a bad parameter, or a component the request lacks
 */
export async function signRequest(parameters: SignRequestParameters): Promise<SignRequestReturnType> {
  const { method, url, headers, key, keyid } = parameters
  const created = parameters.created ?? Math.floor(Date.now() / 1000)
  const expiresIn = parameters.expiresIn ?? 60
  if (!Number.isSafeInteger(created) || created < 0 || !Number.isSafeInteger(expiresIn) || expiresIn <= 0)
    throw new BaseError('INVALID_INPUT', 'created and expiresIn must be whole seconds (expiresIn above 0).')
  const components = parameters.components ?? [
    '@method',
    '@target-uri',
    ...coveredWhenPresent.filter((name) => headers.has(name)),
  ]
  const params: SignatureParams = {
    created,
    expires: created + expiresIn,
    nonce: parameters.nonce ?? randomBytes(16).toString('base64url'),
    keyid,
    alg: 'ed25519',
    tag: parameters.tag ?? 'airlock-mcp',
  }
  const inner = serializeSfInnerList(toInnerList(components, params))
  const base = buildBase({ method, url, headers }, components, inner)
  const signature = sign(null, Buffer.from(base, 'utf8'), privateKeyOf(key))
  return { signatureInput: `${label}=${inner}`, signature: `${label}=:${signature.toString('base64')}:` }
}

/** What {@link verifyRequestSignature} needs: the request as received, and the server's rules. */
export type VerifyRequestSignatureParameters = {
  method: string
  /** The absolute URL the client addressed (behind a proxy: the public URL, not the internal one). */
  url: string
  headers: Headers
  /** The body bytes as received (empty when there is none). */
  body: Uint8Array
  /** The public key a `keyid` names; throw BaseError INVALID_INPUT or NOT_FOUND for an unknown one. */
  resolveKey: (keyid: string) => Ed25519Jwk | Promise<Ed25519Jwk>
  /**
   * Components the signature must cover. A header in this list is required whenever the request carries it (an
   * absent header has nothing to protect, and adding it later breaks the rule); `content-digest` is required
   * whenever the body is not empty, even if the header is missing.
   */
  required: readonly string[]
  /** Unix seconds; now by default. */
  now?: number
  /** Clock difference tolerated on `created` and `expires`; 60 s by default. */
  maxSkewSeconds?: number
  /** Longest `expires - created` accepted; 300 s by default. */
  maxLifetimeSeconds?: number
  /** The `tag` the signature must carry; `airlock-mcp` by default; `null` accepts any tag or none. */
  tag?: string | null
  /** Records a nonce; resolves `false` when it was seen before (keep it at least until `expires` + skew). */
  useNonce: (keyid: string, nonce: string, expires: number) => Promise<boolean>
}

/** What a verified signature says: who signed, when, and its nonce. */
export type VerifyRequestSignatureReturnType = {
  keyid: string
  created: number
  expires: number
  nonce: string
}

/**
 * Verifies the RFC 9421 signature of a request: the first label present in both `Signature-Input` and `Signature`
 * must cover the required components, be Ed25519, fresh, short-lived, carry a nonce and a keyid, and verify under
 * the key `resolveKey` returns; only then is the nonce recorded (so a forged request cannot burn a real one).
 *
 * @example
 * const { keyid } = await verifyRequestSignature({
 *   method: req.method, url: publicUrl, headers: req.headers, body,
 *   resolveKey: publicKeyOfDidKey, required: ['@method', '@target-uri', 'content-digest', 'authorization'],
 *   useNonce: (keyid, nonce, expires) => nonces.add(keyid, nonce, expires),
 * })
 * @throws {BaseError} UNAUTHORIZED: the signature is missing, malformed, stale, replayed or does not verify
 */
export async function verifyRequestSignature(
  parameters: VerifyRequestSignatureParameters,
): Promise<VerifyRequestSignatureReturnType> {
  const { method, url, headers, body, resolveKey, useNonce } = parameters
  const now = parameters.now ?? Math.floor(Date.now() / 1000)
  const skew = parameters.maxSkewSeconds ?? 60
  const maxLifetime = parameters.maxLifetimeSeconds ?? 300
  const expectedTag = parameters.tag === undefined ? 'airlock-mcp' : parameters.tag

  const inputHeader = headers.get('signature-input')
  const signatureHeader = headers.get('signature')
  if (inputHeader === null || signatureHeader === null)
    throw refuse(
      `the ${inputHeader === null ? 'Signature-Input' : 'Signature'} header is missing`,
      'Sign every request with RFC 9421 (Signature-Input and Signature headers), e.g. through createPassportFetch.',
    )
  const inputs = parseField(inputHeader, 'Signature-Input')
  const signatures = parseField(signatureHeader, 'Signature')
  const chosen = [...inputs.keys()].find((name) => signatures.has(name))
  if (chosen === undefined)
    throw refuse(
      'no label appears in both Signature-Input and Signature',
      'Use the same label (sig1) in both.',
    )
  const input = inputs.get(chosen)!
  const signatureMember = signatures.get(chosen)!
  if (input.kind !== 'list')
    throw refuse(`Signature-Input ${quote(chosen)} is not an inner list`, 'Write it as sig1=("@method" …);…')
  if (signatureMember.kind !== 'item' || signatureMember.value.type !== 'bytes')
    throw refuse(`Signature ${quote(chosen)} is not a byte sequence`, 'Write it as sig1=:<base64>:')
  const signature = signatureMember.value.value

  const components = coveredComponents(input)
  for (const name of parameters.required) {
    if (components.includes(name)) continue
    const needed = name.startsWith('@')
      ? true
      : name === 'content-digest'
        ? body.length > 0 || headers.has(name)
        : headers.has(name)
    if (needed)
      throw refuse(
        `the signature does not cover ${quote(name)}`,
        `Cover ${parameters.required.map((c) => `"${c}"`).join(' ')} (headers when present; content-digest whenever there is a body).`,
      )
  }
  if (components.includes('content-digest') && !checkContentDigest(headers.get('content-digest'), body))
    throw refuse(
      'the body does not match its Content-Digest',
      'Send Content-Digest: sha-256=:<base64 of the SHA-256 of the exact body bytes>: and sign after setting it.',
    )

  const params = input.params
  const alg = stringParam(params, 'alg')
  if (alg !== undefined && alg !== 'ed25519')
    throw refuse(`the algorithm ${quote(alg)} is not accepted`, 'Sign with Ed25519 (alg="ed25519").')
  if (expectedTag !== null && stringParam(params, 'tag') !== expectedTag)
    throw refuse('the signature tag is missing or wrong', `Sign with tag="${expectedTag}".`)
  const created = integerParam(params, 'created')
  const expires = integerParam(params, 'expires')
  if (created === undefined) throw refuse('created is missing', 'Add ;created=<unix seconds>.')
  if (created > now + skew)
    throw refuse('created is in the future', `Check the client clock (tolerance ${skew} s).`)
  if (expires === undefined) throw refuse('expires is missing', 'Add ;expires=<unix seconds>.')
  if (expires < now - skew) throw refuse('the signature has expired', 'Sign each request when it is sent.')
  if (expires <= created) throw refuse('expires is not after created', 'Set expires later than created.')
  if (expires - created > maxLifetime)
    throw refuse(
      `the signature lives ${expires - created} s, longer than ${maxLifetime} s`,
      `Set expires at most ${maxLifetime} s after created.`,
    )
  const nonce = stringParam(params, 'nonce')
  if (nonce === undefined || nonce.length === 0 || nonce.length > maxNonceLength)
    throw refuse(
      nonce === undefined
        ? 'nonce is missing'
        : `the nonce is empty or longer than ${maxNonceLength} characters`,
      'Add ;nonce="<fresh random value>" to every signature.',
    )
  const keyid = stringParam(params, 'keyid')
  if (keyid === undefined || keyid.length === 0)
    throw refuse('keyid is missing', 'Add ;keyid="<your did:key>".')

  const publicKey = await resolvePublicKey(resolveKey, keyid)
  let base: string
  try {
    base = buildBase({ method, url, headers }, components, serializeSfInnerList(input))
  } catch (cause) {
    throw refuse(
      cause instanceof BaseError
        ? cause.shortMessage.replace(/\.$/, '')
        : 'the signature base cannot be built',
      'Cover only components this request carries.',
      cause,
    )
  }
  const valid = signature.length === 64 && verify(null, Buffer.from(base, 'utf8'), publicKey, signature)
  if (!valid)
    throw refuse(
      'the signature does not verify',
      'Sign the request as sent (method, absolute URL, covered headers) with the key keyid names.',
    )
  if (!(await useNonce(keyid, nonce, expires)))
    throw refuse('replayed: this nonce was already used', 'Use a fresh nonce for every request.')
  return { keyid, created, expires, nonce }
}

/** The request parts a signature base reads. */
type RequestParts = { method: string; url: string; headers: Headers }

/** RFC 9421 §2.5: the base, from the covered components and the already-serialized `@signature-params` value. */
function buildBase(request: RequestParts, components: readonly string[], signatureParams: string): string {
  const seen = new Set<string>()
  const lines: string[] = []
  for (const name of components) {
    if (seen.has(name)) throw invalid(`The component ${quote(name)} is listed twice.`)
    seen.add(name)
    const value = componentValue(request, name)
    // A newline in a value would let one component forge another's line.
    if (/[\r\n]/.test(value)) throw invalid(`The value of ${quote(name)} contains a line break.`)
    lines.push(`"${name}": ${value}`)
  }
  lines.push(`"@signature-params": ${signatureParams}`)
  return lines.join('\n')
}

function componentValue(request: RequestParts, name: string): string {
  if (name === '@method') return request.method.toUpperCase()
  if (name === '@target-uri') {
    if (!URL.canParse(request.url)) throw invalid('@target-uri needs an absolute URL.')
    return request.url
  }
  if (name.startsWith('@')) {
    if (!derivedComponents.includes(name))
      throw invalid(`The derived component ${quote(name)} is not supported.`)
    if (!URL.canParse(request.url)) throw invalid(`${name} needs an absolute URL.`)
    const u = new URL(request.url)
    if (name === '@authority') return u.host
    if (name === '@scheme') return u.protocol.slice(0, -1)
    if (name === '@path') return u.pathname || '/'
    if (name === '@query') return u.search || '?'
    return (u.pathname || '/') + u.search // @request-target
  }
  if (!/^[a-z0-9!#$%&'*+\-.^_`|~]+$/.test(name))
    throw invalid(`The component ${quote(name)} is not a lowercase header name.`)
  const value = request.headers.get(name)
  if (value === null) throw invalid(`The request has no ${quote(name)} header to cover.`)
  // Headers already joins repeated fields with ", "; each line's surrounding whitespace goes (RFC 9421 §2.1).
  return value.trim()
}

/** The covered list of the signature params, checked: strings only, no component parameters, at most 32. */
function coveredComponents(input: SfInnerList): string[] {
  if (input.items.length > maxComponents)
    throw refuse(`more than ${maxComponents} covered components`, 'Cover only what the server requires.')
  return input.items.map((item) => {
    if (item.value.type !== 'string')
      throw refuse('a covered component is not a string', 'List components as "…" strings.')
    if (item.params.size > 0)
      throw refuse(
        `component parameters (on ${quote(item.value.value)}) are not supported`,
        'Cover plain header names.',
      )
    return item.value.value
  })
}

function toInnerList(components: readonly string[], params: SignatureParams): SfInnerList {
  const items: SfItem[] = components.map((name) => ({
    kind: 'item',
    value: { type: 'string', value: name },
    params: new Map(),
  }))
  const out: SfParams = new Map()
  for (const key of ['created', 'expires', 'nonce', 'keyid', 'alg', 'tag'] as const) {
    const value = params[key]
    if (value === undefined) continue
    const item: SfBareItem =
      typeof value === 'number' ? { type: 'integer', value } : { type: 'string', value: value }
    out.set(key, item)
  }
  return { kind: 'list', items, params: out }
}

function privateKeyOf(key: Ed25519Jwk): KeyObject {
  try {
    if (key.kty !== 'OKP' || key.crv !== 'Ed25519' || typeof key.d !== 'string') throw new Error('shape')
    return createPrivateKey({ key: { kty: key.kty, crv: key.crv, x: key.x, d: key.d }, format: 'jwk' })
  } catch (cause) {
    throw new BaseError('INVALID_INPUT', 'Signing a request needs a private Ed25519 JWK (with "d").', {
      cause,
    })
  }
}

async function resolvePublicKey(
  resolveKey: VerifyRequestSignatureParameters['resolveKey'],
  keyid: string,
): Promise<KeyObject> {
  let jwk: Ed25519Jwk
  try {
    jwk = await resolveKey(keyid)
  } catch (cause) {
    // An unknown or malformed keyid is the client's fault; a store outage is not, and keeps its own code.
    if (cause instanceof BaseError && ['INVALID_INPUT', 'NOT_FOUND', 'UNAUTHORIZED'].includes(cause.code))
      throw refuse(
        `the keyid ${quote(keyid)} names no key this server accepts`,
        'Use your did:key as keyid.',
        cause,
      )
    throw cause
  }
  try {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') throw new Error('shape')
    return createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' })
  } catch (cause) {
    throw refuse(`the keyid ${quote(keyid)} does not name an Ed25519 key`, 'Use an Ed25519 did:key.', cause)
  }
}

function parseField(text: string, name: string): SfDictionary {
  try {
    const dictionary = parseSfDictionary(text)
    if (dictionary.size === 0) throw new BaseError('INVALID_INPUT', 'empty')
    return dictionary
  } catch (cause) {
    const why =
      cause instanceof BaseError && cause.shortMessage !== 'empty'
        ? ` (${cause.shortMessage.replace(/\.$/, '')})`
        : ''
    throw refuse(
      `the ${name} header is not a structured-field dictionary${why}`,
      `Write ${name} as RFC 9421 shows: ${name === 'Signature' ? 'sig1=:<base64>:' : 'sig1=("@method" …);created=…;…'}`,
      cause,
    )
  }
}

function stringParam(params: SfParams, key: string): string | undefined {
  const v = params.get(key)
  if (v === undefined) return undefined
  if (v.type !== 'string') throw refuse(`${key} is not a string`, `Write ;${key}="…".`)
  return v.value
}

function integerParam(params: SfParams, key: string): number | undefined {
  const v = params.get(key)
  if (v === undefined) return undefined
  if (v.type !== 'integer') throw refuse(`${key} is not an integer`, `Write ;${key}=<unix seconds>.`)
  return v.value
}

/** Client-supplied text in a message: at most 80 characters, quoted. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
}

function refuse(reason: string, fix: string, cause?: unknown): BaseError {
  return new BaseError('UNAUTHORIZED', `The request signature is refused: ${reason}.`, {
    metaMessages: [fix],
    ...(cause === undefined ? {} : { cause }),
  })
}

function invalid(message: string): BaseError {
  return new BaseError('INVALID_INPUT', message)
}
