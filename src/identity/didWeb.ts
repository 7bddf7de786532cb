import { isIP } from 'node:net'
import { z } from 'zod'
import { BaseError } from '../errors/index.js'
import { isPublicAddress } from '../untrusted/isPublicAddress.js'
import { type Ed25519Jwk, parseEd25519Jwk, publicKeyOfDidKey } from './didKey.js'

/** Options of {@link resolveDidWeb} and {@link resolveDeveloperKeys}. */
export type ResolveDidWebOptions = {
  /** The fetch to use (a test double, or one behind an egress proxy). Default: the global `fetch`. */
  fetch?: typeof fetch | undefined
  /**
   * TEST HOOK — never set from configuration. Resolves `did:web:127.0.0.1%3APORT` and `did:web:localhost%3APORT`
   * over plain `http:`; without it, loopback and other non-public hosts are refused.
   */
  allowLoopbackHttp?: boolean | undefined
  /** Time for the whole fetch, body included. Default 5000 ms. */
  timeoutMs?: number | undefined
}

const maxDidLength = 512
const maxBodyBytes = 64 * 1024
// DID syntax (DID Core §3.1): a method-specific-id segment is idchar* with idchar = ALPHA / DIGIT / . - _ / pct-enc.
const idSegment = /^(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/
const loopbackHosts = new Set(['127.0.0.1', 'localhost'])

/**
 * The Ed25519 public keys a did:web DID document lists for `authentication` or `assertionMethod`, each with its
 * verification method id as `kid`. `did:web:example.com` is read from `https://example.com/.well-known/did.json`,
 * `did:web:example.com:user:alice` from `https://example.com/user/alice/did.json` (`%3A` in the host is a port).
 *
 * The DID names a host the caller chose, so the fetch is fenced: https only, no redirects, 5 s, 64 KiB; an IP
 * literal must be a public address and `localhost` is refused. A host *name* that resolves to a private address is
 * not caught here (the global fetch resolves it); pass a `fetch` that pins public addresses where that matters.
 * The document's `id` must be the DID. Keys are read from `publicKeyJwk` (OKP/Ed25519) or `publicKeyMultibase`
 * (`z6Mk…`, the did:key form); other key types are ignored.
 *
 * @example
 * const keys = await resolveDidWeb('did:web:example.com:user:alice')
 * await verifyDeveloperProof({ proof, did, challenge, audience, keys })
 * @throws {BaseError} INVALID_INPUT: not a did:web DID, or the document is malformed, is for another DID or lists
 * no usable Ed25519 key
 * @throws {BaseError} UNTRUSTED_FETCH_BLOCKED: the host is loopback, private or reserved
 * @throws {BaseError} FETCH_FAILED: network error, redirect, time-out, HTTP status other than 200, body over
 * 64 KiB, or not JSON
 */
export async function resolveDidWeb(did: string, options: ResolveDidWebOptions = {}): Promise<Ed25519Jwk[]> {
  const timeoutMs = options.timeoutMs ?? 5000
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000)
    throw new BaseError('INVALID_INPUT', 'timeoutMs must be an integer from 1 to 60000.', {
      field: 'timeoutMs',
    })
  const url = didWebUrl(did, options.allowLoopbackHttp === true)
  const body = await fetchBody(url, options.fetch ?? globalThis.fetch, timeoutMs)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch (error) {
    throw new BaseError('FETCH_FAILED', `The DID document at ${url} is not JSON.`, {
      metaMessages: ['Serve the DID document as UTF-8 JSON (application/did+json or application/json).'],
      cause: error,
    })
  }
  return keysOf(json, did, url)
}

/**
 * The Ed25519 keys a developer DID stands for: a did:key is its own key; a did:web is resolved
 * ({@link resolveDidWeb}).
 *
 * @example
 * const keys = await resolveDeveloperKeys('did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK')
 * // [{ kty: 'OKP', crv: 'Ed25519', x: 'Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY' }]
 * @throws {BaseError} INVALID_INPUT: another DID method, or see {@link resolveDidWeb}
 */
export async function resolveDeveloperKeys(
  did: string,
  options: ResolveDidWebOptions = {},
): Promise<Ed25519Jwk[]> {
  if (typeof did === 'string' && did.startsWith('did:key:')) return [publicKeyOfDidKey(did)]
  if (typeof did === 'string' && did.startsWith('did:web:')) return resolveDidWeb(did, options)
  throw new BaseError(
    'INVALID_INPUT',
    `"${String(did).slice(0, 80)}" is neither a did:key nor a did:web DID.`,
    {
      metaMessages: [
        'A developer is identified by a did:key (an Ed25519 key, `did:key:z6Mk…`) or a did:web (`did:web:example.com`).',
      ],
    },
  )
}

/** The https URL of a did:web DID document (did:web method §3.2.1), refusing hosts an untrusted DID must not reach. */
function didWebUrl(did: string, allowLoopbackHttp: boolean): string {
  const invalid = (reason: string) =>
    new BaseError('INVALID_INPUT', `"${String(did).slice(0, 80)}" is not a valid did:web DID: ${reason}.`, {
      metaMessages: ['A did:web DID looks like `did:web:example.com` or `did:web:example.com:user:alice`.'],
    })
  if (typeof did !== 'string' || !did.startsWith('did:web:')) throw invalid('it does not start with did:web:')
  if (did.length > maxDidLength) throw invalid(`it is longer than ${maxDidLength} characters`)
  if (/[?#/]/.test(did)) throw invalid('a DID has no path, query or fragment')
  const segments = did.slice('did:web:'.length).split(':')
  if (!segments.every((s) => idSegment.test(s)))
    throw invalid('a segment is empty or holds a character DIDs forbid')
  const decoded = segments.map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      throw invalid('a percent-encoding is not UTF-8')
    }
  })
  const [authority = '', ...path] = decoded
  const match = /^([a-z0-9.-]+)(?::([0-9]{1,5}))?$/i.exec(authority)
  const host = match?.[1]?.toLowerCase()
  const port = match?.[2]
  if (!host || host.startsWith('.') || host.endsWith('.') || host.includes('..'))
    throw invalid('the host is not a DNS name or IPv4 address')
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    throw invalid('the port is out of range')
  for (const p of path)
    if (p === '.' || p === '..' || /[/\\?#\u0000-\u001f\u007f]/.test(p))
      throw invalid('a path segment is ".", ".." or holds a separator or control character')

  const loopback = loopbackHosts.has(host)
  const http = allowLoopbackHttp && loopback
  if (!http && (loopback || (isIP(host) !== 0 && !isPublicAddress(host))))
    throw new BaseError(
      'UNTRUSTED_FETCH_BLOCKED',
      `Refused to resolve ${did.slice(0, 80)}: its host is not public.`,
      {
        metaMessages: [
          'A did:web DID is read over https from a public host; loopback and private addresses are refused.',
        ],
      },
    )
  const origin = `${http ? 'http' : 'https'}://${host}${port === undefined ? '' : `:${port}`}`
  return path.length === 0
    ? `${origin}/.well-known/did.json`
    : `${origin}/${path.map(encodeURIComponent).join('/')}/did.json`
}

/** The response body, capped in time and size; redirects are errors, not followed. */
async function fetchBody(url: string, fetchFn: typeof fetch, timeoutMs: number): Promise<Uint8Array> {
  const failed = (reason: string, cause?: unknown) =>
    new BaseError('FETCH_FAILED', `Could not read the DID document at ${url}: ${reason}.`, {
      metaMessages: [
        'Check that the document is served over https at that URL, without redirects, within 64 KiB.',
      ],
      ...(cause === undefined ? {} : { cause }),
    })
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await fetchFn(url, {
      redirect: 'error',
      signal,
      headers: { accept: 'application/did+json, application/json' },
      credentials: 'omit',
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw failed(`HTTP status ${response.status}`)
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN)
    if (declared > maxBodyBytes) {
      await response.body?.cancel()
      throw failed(`the body is larger than ${maxBodyBytes} bytes`)
    }
    if (!response.body) return new Uint8Array()
    const chunks: Uint8Array[] = []
    let size = 0
    const reader = response.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      // Counted while streaming: a server may send no length, or lie about it.
      if (size > maxBodyBytes) {
        await reader.cancel()
        throw failed(`the body is larger than ${maxBodyBytes} bytes`)
      }
      chunks.push(value)
    }
    return Buffer.concat(chunks)
  } catch (error) {
    if (error instanceof BaseError) throw error
    if (signal.aborted) throw failed(`no complete answer within ${timeoutMs} ms`, error)
    // undici reports a refused redirect, like any network failure, as a TypeError whose cause says more.
    const cause = (error as { cause?: { message?: unknown } }).cause?.message
    const detail =
      typeof cause === 'string' ? cause : error instanceof Error ? error.message : 'network error'
    throw failed(
      /redirect/i.test(detail) ? 'the server answered with a redirect' : detail.slice(0, 120),
      error,
    )
  }
}

const VerificationMethod = z.object({
  id: z.string().max(maxDidLength + 200),
  publicKeyJwk: z.record(z.string(), z.unknown()).optional(),
  publicKeyMultibase: z.string().max(200).optional(),
})
type VerificationMethod = z.infer<typeof VerificationMethod>
const DidDocument = z.object({
  id: z.string(),
  verificationMethod: z.array(z.unknown()).max(256).optional(),
  authentication: z.array(z.unknown()).max(256).optional(),
  assertionMethod: z.array(z.unknown()).max(256).optional(),
})

/** The Ed25519 keys of the methods `authentication` and `assertionMethod` reference or embed. */
function keysOf(json: unknown, did: string, url: string): Ed25519Jwk[] {
  const doc = DidDocument.safeParse(json)
  if (!doc.success)
    throw new BaseError('INVALID_INPUT', `The document at ${url} is not a DID document.`, {
      metaMessages: ['A DID document is a JSON object with `id`, `verificationMethod` and `authentication`.'],
    })
  if (doc.data.id !== did)
    throw new BaseError(
      'INVALID_INPUT',
      `The DID document at ${url} is for another DID than ${did.slice(0, 80)}.`,
      {
        metaMessages: [`Its "id" must be exactly "${did.slice(0, 80)}".`],
      },
    )
  // Relative references (`#key-1`) are relative to the DID itself.
  const absolute = (id: string) => (id.startsWith('#') ? `${did}${id}` : id)
  const listed = new Map<string, VerificationMethod>()
  for (const entry of doc.data.verificationMethod ?? []) {
    const method = VerificationMethod.safeParse(entry)
    if (method.success) listed.set(absolute(method.data.id), method.data)
  }
  const keys = new Map<string, Ed25519Jwk>()
  for (const reference of [...(doc.data.authentication ?? []), ...(doc.data.assertionMethod ?? [])]) {
    const method =
      typeof reference === 'string'
        ? listed.get(absolute(reference))
        : VerificationMethod.safeParse(reference).data
    const key = method && keyOf(method, url)
    if (key && !keys.has(key.x)) keys.set(key.x, { ...key, kid: absolute(method.id) })
  }
  if (keys.size === 0)
    throw new BaseError(
      'INVALID_INPUT',
      `The DID document of ${did.slice(0, 80)} lists no usable Ed25519 key.`,
      {
        metaMessages: [
          'List an Ed25519 key (publicKeyJwk with kty OKP and crv Ed25519, or publicKeyMultibase z6Mk…) in',
          'verificationMethod, and reference it from authentication or assertionMethod.',
        ],
      },
    )
  return [...keys.values()]
}

function keyOf(method: VerificationMethod, url: string): Ed25519Jwk | undefined {
  if (method.publicKeyJwk) {
    // A published private key is not a key to trust: whoever read the document can sign with it.
    if ('d' in method.publicKeyJwk)
      throw new BaseError('INVALID_INPUT', `The DID document at ${url} publishes a private key.`, {
        metaMessages: ['Remove "d" from the JWK, and replace the key: it is no longer secret.'],
      })
    try {
      return parseEd25519Jwk(method.publicKeyJwk)
    } catch {
      return undefined
    }
  }
  if (method.publicKeyMultibase?.startsWith('z6Mk')) {
    try {
      return publicKeyOfDidKey(`did:key:${method.publicKeyMultibase}`)
    } catch {
      return undefined
    }
  }
  return undefined
}
