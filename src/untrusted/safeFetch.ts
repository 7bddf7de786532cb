import type { LookupAddress } from 'node:dns'
import { lookup as dnsLookup } from 'node:dns/promises'
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import {
  type BaseError,
  FetchFailedError,
  InvalidConfigError,
  redactUrl,
  UntrustedFetchBlockedError,
} from '../errors/index.js'
import { isPublicAddress } from './isPublicAddress.js'
import { parseDataUri } from './parseDataUri.js'
import { defaultArweaveGateway, defaultIpfsGateway, toGatewayUrl } from './toGatewayUrl.js'

/** Options of {@link createSafeFetcher}. */
export type SafeFetcherOptions = {
  /** Total time for one fetch — DNS, connect, every redirect and the whole body. Default 5000 ms. */
  timeoutMs?: number | undefined
  /** Largest body (or decoded `data:` content) accepted, enforced while streaming. Default 256 KiB. */
  maxBytes?: number | undefined
  /** Redirects followed, each re-validated. Default 3. */
  maxRedirects?: number | undefined
  /** HTTPS base URL that `ipfs://` URIs are rewritten to. Default `https://ipfs.io/ipfs/`. */
  ipfsGateway?: string | undefined
  /** HTTPS base URL that `ar://` URIs are rewritten to. Default `https://arweave.net/`. */
  arweaveGateway?: string | undefined
  /** Sent as `User-Agent`. Default `airlock-untrusted-fetch/1`. */
  userAgent?: string | undefined
  /**
   * TEST HOOK — never set from configuration. Also accept plain `http:` URLs (tests serve on 127.0.0.1 without TLS).
   */
  allowHttp?: boolean | undefined
  /**
   * TEST HOOK — never set from configuration. Replaces the public-address check ({@link isPublicAddress}) so a test
   * can reach a 127.0.0.1 server; it still runs on every address of every hop.
   */
  isAddressAllowed?: ((ip: string) => boolean) | undefined
  /** TEST HOOK — never set from configuration. Replaces the DNS lookup (all addresses of a host name). */
  lookup?: ((hostname: string) => Promise<readonly LookupAddress[]>) | undefined
  /** TEST HOOK — never set from configuration. Extra trusted CA certificates (PEM) for a test HTTPS server. */
  ca?: string | readonly string[] | undefined
}

/** Per-call options of a {@link SafeFetcher}. */
export type SafeFetchOptions = {
  /** Cancels the fetch, e.g. when the tool call is cancelled. */
  signal?: AbortSignal | undefined
  /**
   * POST this value as a JSON body instead of a GET (an EIP-3668 gateway). A 307/308 redirect repeats the POST to
   * the new URL (checked like the first); 301/302/303 continue as a GET, as browsers do. Not for `data:` URIs.
   */
  postJson?: unknown
}

/** Per-call options of {@link SafeFetcher.exchange}: an HTTP request an agent asked for (an x402 purchase). */
export type SafeExchangeOptions = {
  signal?: AbortSignal | undefined
  method?: 'GET' | 'POST' | undefined
  /** A request body (POST), sent as `contentType`. */
  body?: string | undefined
  contentType?: string | undefined
  /** Extra request headers; only `payment-signature` (x402) and `accept` are sent. */
  headers?: Readonly<Record<string, string>> | undefined
}

/** The answer of `exchange`: status, the x402 headers and the body, all untrusted. */
export type SafeExchangeReturnType = {
  url: string
  status: number
  contentType: string
  /** `payment-required` and `payment-response`, when the server sent them. */
  headers: { 'payment-required'?: string | undefined; 'payment-response'?: string | undefined }
  bytes: number
  body: Uint8Array
}

/** The answer of `fetchJson`. The JSON is untrusted: wrap it with `untrustedJson` before it reaches a result. */
export type SafeFetchJsonReturnType = {
  /** The URL finally read (after gateway rewrite and redirects); for `data:` URIs, only the header. */
  url: string
  /** Media type essence, lower case (`application/json`); empty when the server sent none. */
  contentType: string
  /** Body size in bytes. */
  bytes: number
  json: unknown
}

/** The answer of `fetchText`. The text is untrusted: wrap it with `untrustedText` before it reaches a result. */
export type SafeFetchTextReturnType = Omit<SafeFetchJsonReturnType, 'json'> & { text: string }

/** What a URI found in untrusted data points at, decided without any network access. */
export type UriDescription =
  /** Inline content: only its type and size, never the content (an image may be large or hostile). */
  | { kind: 'data'; mimeType: string; bytes: number }
  /**
   * A URL that `fetchJson`/`fetchText` would try (after the gateway rewrite); its host is checked when fetched.
   * Still text from an untrusted source: wrap it with `untrustedText` in a result.
   */
  | { kind: 'url'; url: string }
  /** A URI that is never fetched, and why. */
  | { kind: 'blocked'; reason: string }

/** Fetches documents that untrusted data points at (NFT metadata, token lists, ENS records) behind an SSRF guard. */
export type SafeFetcher = {
  /**
   * @throws {UntrustedFetchBlockedError} the scheme, an address, a redirect or the size is refused
   * @throws {FetchFailedError} DNS, connection, HTTP status, media type, JSON or the time cap failed
   */
  fetchJson(url: string, options?: SafeFetchOptions): Promise<SafeFetchJsonReturnType>
  /**
   * @throws {UntrustedFetchBlockedError} the scheme, an address, a redirect or the size is refused
   * @throws {FetchFailedError} DNS, connection, HTTP status, media type or the time cap failed
   */
  fetchText(url: string, options?: SafeFetchOptions): Promise<SafeFetchTextReturnType>
  /**
   * One HTTP exchange at an https: URL (x402 purchases): any status is an answer (a 402 is the point; a redirect is
   * not followed), the x402 headers come back, the body is capped; addresses and time are guarded as for the others.
   * @throws {UntrustedFetchBlockedError} the scheme, an address, a redirect or the size is refused
   * @throws {FetchFailedError} DNS, connection, media type or the time cap failed
   */
  exchange(url: string, options?: SafeExchangeOptions): Promise<SafeExchangeReturnType>
  /** Classifies a URI without fetching it; for `data:` URIs, the media type and decoded size. */
  describeUri(uri: string): UriDescription
}

type Mode = 'json' | 'text' | 'exchange'
type Hop =
  | { redirect: string; status: number }
  | { contentType: string; body: Buffer; status: number; headers: SafeExchangeReturnType['headers'] }

/** What {@link SafeFetcher.exchange} sends besides the URL, checked once. */
type Outgoing = {
  method: 'GET' | 'POST'
  body?: Buffer | undefined
  contentType: string
  headers: Record<string, string>
}

const redirectStatuses = new Set([301, 302, 303, 307, 308])
const maxUrlLength = 8 * 1024
const maxDescribedDataBytes = 16 * 1024 * 1024
const jsonTypes = new Set(['application/json', 'text/json'])
// Gateways and static hosts often serve JSON without a JSON type; parsing decides.
const looseTypes = new Set(['', 'text/plain', 'application/octet-stream'])

/**
 * Builds the fetcher that tools use for anything an untrusted source points at. It decodes `data:` URIs locally,
 * rewrites `ipfs://`/`ar://` to the configured HTTPS gateway, and fetches only `https:` URLs whose host resolves
 * to public addresses only — the connection is pinned to the checked address, so DNS rebinding cannot redirect
 * it. Redirects are followed by hand and re-checked; time and body size are capped; no cookies or credentials
 * are sent and `Accept-Encoding: identity` rules out compression bombs. Options are validated here, once.
 *
 * @example
 * const fetcher = createSafeFetcher({ ipfsGateway: config.ipfsGateway })
 * const { json } = await fetcher.fetchJson(tokenUri)
 * return { metadata: untrustedJson(json) }
 * @throws {InvalidConfigError} an option is out of range or a gateway is not an HTTPS base URL
 */
export function createSafeFetcher(options: SafeFetcherOptions = {}): SafeFetcher {
  const timeoutMs = integer(options.timeoutMs ?? 5000, 'timeoutMs', 1, 120_000)
  const maxBytes = integer(options.maxBytes ?? 256 * 1024, 'maxBytes', 1, 64 * 1024 * 1024)
  const maxRedirects = integer(options.maxRedirects ?? 3, 'maxRedirects', 0, 10)
  const allowHttp = options.allowHttp === true
  const gateways = {
    ipfsGateway: gateway(options.ipfsGateway ?? defaultIpfsGateway, 'ipfsGateway', allowHttp),
    arweaveGateway: gateway(options.arweaveGateway ?? defaultArweaveGateway, 'arweaveGateway', allowHttp),
  }
  const userAgent = options.userAgent ?? 'airlock-untrusted-fetch/1'
  if (!/^[\x20-\x7e]{1,200}$/.test(userAgent)) {
    throw new InvalidConfigError('userAgent must be 1–200 printable ASCII characters.', {
      field: 'userAgent',
    })
  }
  const isAllowed = options.isAddressAllowed ?? isPublicAddress
  const lookup = options.lookup ?? ((hostname: string) => dnsLookup(hostname, { all: true, verbatim: true }))
  const ca =
    options.ca === undefined ? undefined : typeof options.ca === 'string' ? options.ca : [...options.ca]
  const schemes = allowHttp ? ['https:', 'http:'] : ['https:']

  /** The URL to fetch, or the decoded `data:` content; refuses every other scheme. */
  const classify = (
    raw: string,
  ): { url: URL } | { data: ReturnType<typeof parseDataUri>; header: string } => {
    const input = raw.trim()
    const scheme = /^([a-z][a-z0-9+.-]{0,31}):/i.exec(input)?.[1]?.toLowerCase()
    if (scheme === undefined) throw blocked('the value is not an absolute URL')
    if (scheme === 'data') {
      const data = parseDataUri(input, { maxBytes })
      return { data, header: `data:${data.mimeType}${data.base64 ? ';base64' : ''},…` }
    }
    if (input.length > maxUrlLength) throw blocked(`the URL is longer than ${maxUrlLength} characters`)
    const rewritten = toGatewayUrl(input, gateways)
    let url: URL
    try {
      url = new URL(rewritten)
    } catch {
      throw blocked('the value is not a valid URL')
    }
    checkUrl(url)
    return { url }
  }

  const checkUrl = (url: URL): void => {
    if (!schemes.includes(url.protocol)) {
      const scheme = url.protocol.slice(0, -1)
      throw blocked(
        scheme === 'http'
          ? 'plain http: is not allowed, only https:'
          : `the scheme "${scheme}:" is not allowed; only https:, ipfs:, ar: and data: URIs are fetched`,
      )
    }
    if (url.username || url.password) throw blocked(`${redactUrl(url.href)} carries credentials`)
    if (!url.hostname) throw blocked('the URL has no host')
  }

  /** Every address of the host, all checked; the first one is where the connection goes. */
  const resolve = async (url: URL, signal: AbortSignal): Promise<LookupAddress> => {
    const host = bareHost(url.hostname)
    const literal = isIP(host)
    if (literal) {
      if (!isAllowed(host)) throw blocked(`${redactUrl(url.href)} is a private or reserved address`)
      return { address: host, family: literal }
    }
    let addresses: readonly LookupAddress[]
    try {
      addresses = await abortable(lookup(host), signal)
    } catch (error) {
      if (signal.aborted) throw signal.reason
      throw new FetchFailedError({ reason: `could not resolve ${host}`, cause: error })
    }
    const first = addresses[0]
    if (!first) throw new FetchFailedError({ reason: `${host} has no address` })
    // The IPs themselves stay out of the message: they would map internal names for whoever wrote the URI.
    if (!addresses.every((a) => isAllowed(a.address))) {
      throw blocked(`${host} resolves to a private or reserved address`)
    }
    return first
  }

  const request = (
    url: URL,
    address: LookupAddress,
    mode: Mode,
    signal: AbortSignal,
    post: Buffer | undefined,
    outgoing?: Outgoing | undefined,
  ): Promise<Hop> =>
    new Promise<Hop>((resolvePromise, rejectPromise) => {
      let settled = false
      const fail = (error: unknown): void => {
        if (settled) return
        settled = true
        req.destroy()
        rejectPromise(signal.aborted ? signal.reason : error)
      }
      const succeed = (hop: Hop): void => {
        if (settled) return
        settled = true
        req.destroy()
        resolvePromise(hop)
      }
      const secure = url.protocol === 'https:'
      const host = bareHost(url.hostname)
      // Never consulted (the host is already an IP address); here so that no code path can resolve again.
      const pinned: LookupFunction = (_name, opts, callback) => {
        if (opts.all) callback(null, [address])
        else callback(null, address.address, address.family)
      }
      const requestOptions: https.RequestOptions = {
        host: address.address,
        family: address.family,
        port: url.port || (secure ? 443 : 80),
        method: outgoing?.method ?? (post ? 'POST' : 'GET'),
        path: `${url.pathname}${url.search}`,
        headers: {
          host: url.host,
          'user-agent': userAgent,
          accept: mode === 'json' ? 'application/json' : 'text/plain, application/json;q=0.9',
          'accept-encoding': 'identity',
          ...(post
            ? {
                'content-type': outgoing?.contentType ?? 'application/json',
                'content-length': String(post.length),
              }
            : {}),
          ...outgoing?.headers,
        },
        agent: false,
        lookup: pinned,
        signal,
        maxHeaderSize: 16 * 1024,
        // The certificate is checked against the URL's host name, not the pinned address.
        ...(secure && !isIP(host) ? { servername: host } : {}),
        ...(ca === undefined ? {} : { ca }),
      }
      const connectionFailed = (error: NodeJS.ErrnoException): FetchFailedError =>
        new FetchFailedError({
          reason: `could not read ${redactUrl(url.href)} (${error.code ?? 'connection error'})`,
          cause: error,
        })
      let req: http.ClientRequest
      try {
        req = (secure ? https : http).request(requestOptions, (res) => {
          readResponse(res, url, mode, maxBytes).then(succeed, fail)
        })
      } catch (error) {
        settled = true
        rejectPromise(connectionFailed(error as NodeJS.ErrnoException))
        return
      }
      req.on('error', (error: NodeJS.ErrnoException) => fail(connectionFailed(error)))
      req.end(post)
    })

  const fetchBody = async (
    raw: string,
    mode: Mode,
    callOptions: SafeFetchOptions,
    outgoing?: Outgoing | undefined,
  ): Promise<{
    url: string
    contentType: string
    body: Uint8Array
    status: number
    headers: SafeExchangeReturnType['headers']
  }> => {
    const callerSignal = callOptions.signal
    let post =
      outgoing?.body ??
      ('postJson' in callOptions ? Buffer.from(JSON.stringify(callOptions.postJson) ?? 'null') : undefined)
    if (post && post.length > maxBytes) throw blocked(`the request body is larger than ${maxBytes} bytes`)
    const target = classify(raw)
    if ('data' in target) {
      if (post) throw blocked('a data: URI cannot take a request body')
      const { mimeType, bytes } = target.data
      if (mimeType.startsWith('image/')) {
        throw new FetchFailedError({
          reason: `the data: URI holds an image (${mimeType}, ${bytes.length} bytes), not ${mode === 'json' ? 'JSON' : 'text'}`,
        })
      }
      if (!acceptable(mimeType, mode)) throw blocked(`the data: media type "${mimeType}" is not allowed`)
      return { url: target.header, contentType: mimeType, body: bytes, status: 200, headers: {} }
    }

    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new FetchFailedError({ reason: `no complete answer within ${timeoutMs} ms` })),
      timeoutMs,
    )
    const onCancel = (): void => controller.abort(new FetchFailedError({ reason: 'the fetch was cancelled' }))
    if (callerSignal?.aborted) onCancel()
    callerSignal?.addEventListener('abort', onCancel, { once: true })
    try {
      let url = target.url
      const seen = new Set<string>()
      for (let redirects = 0; ; redirects++) {
        seen.add(withoutHash(url))
        const address = await resolve(url, controller.signal)
        const hop = await request(url, address, mode, controller.signal, post, outgoing)
        if ('body' in hop)
          return {
            url: withoutHash(url),
            contentType: hop.contentType,
            body: hop.body,
            status: hop.status,
            headers: hop.headers,
          }
        let next: URL
        try {
          next = new URL(hop.redirect, url)
        } catch {
          throw new FetchFailedError({ reason: `${redactUrl(url.href)} redirected to an invalid URL` })
        }
        if (seen.has(withoutHash(next))) throw blocked(`redirect loop at ${redactUrl(next.href)}`)
        if (redirects >= maxRedirects) throw blocked(`more than ${maxRedirects} redirects`)
        checkUrl(next)
        if (hop.status !== 307 && hop.status !== 308) {
          post = undefined
          if (outgoing) outgoing = { ...outgoing, method: 'GET', body: undefined }
        }
        url = next
      }
    } catch (error) {
      throw controller.signal.aborted ? controller.signal.reason : error
    } finally {
      clearTimeout(timer)
      callerSignal?.removeEventListener('abort', onCancel)
    }
  }

  return {
    async exchange(url, callOptions = {}) {
      if (/^\s*data:/i.test(url)) throw blocked('only https: URLs can be bought from')
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(callOptions.headers ?? {})) {
        const key = name.toLowerCase()
        if (key !== 'payment-signature' && key !== 'accept') continue
        if (!/^[\x20-\x7e]{0,16384}$/.test(value)) throw blocked(`the ${key} header is not printable ASCII`)
        headers[key] = value
      }
      const body = callOptions.body === undefined ? undefined : Buffer.from(callOptions.body, 'utf8')
      if (body && body.length > maxBytes) throw blocked(`the request body is larger than ${maxBytes} bytes`)
      const contentType = callOptions.contentType ?? 'application/json'
      if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(;[ -~]{0,100})?$/i.test(contentType))
        throw blocked('the content type is not a media type')
      const method = callOptions.method ?? (body ? 'POST' : 'GET')
      const answer = await fetchBody(
        url,
        'exchange',
        { ...(callOptions.signal ? { signal: callOptions.signal } : {}) },
        { method, body, contentType, headers },
      )
      return { ...answer, bytes: answer.body.length }
    },

    async fetchJson(url, callOptions = {}) {
      const { body, url: read, contentType } = await fetchBody(url, 'json', callOptions)
      const rest = { url: read, contentType }
      let json: unknown
      try {
        json = JSON.parse(decode(body))
      } catch (error) {
        // The parser's message quotes the body, which is untrusted; it stays out.
        const where = rest.url.startsWith('data:') ? 'the data: URI' : redactUrl(rest.url)
        throw new FetchFailedError({ reason: `${where} did not hold valid JSON`, cause: error })
      }
      return { ...rest, bytes: body.length, json }
    },

    async fetchText(url, callOptions = {}) {
      const { body, url: read, contentType } = await fetchBody(url, 'text', callOptions)
      return { url: read, contentType, bytes: body.length, text: decode(body) }
    },

    describeUri(uri) {
      try {
        if (/^\s*data:/i.test(uri)) {
          const { mimeType, bytes } = parseDataUri(uri.trim(), { maxBytes: maxDescribedDataBytes })
          return { kind: 'data', mimeType, bytes: bytes.length }
        }
        const target = classify(uri)
        if ('data' in target) return { kind: 'blocked', reason: 'unexpected data: URI' }
        const host = bareHost(target.url.hostname)
        if (isIP(host) && !isAllowed(host))
          return { kind: 'blocked', reason: 'a private or reserved address' }
        return { kind: 'url', url: target.url.href }
      } catch (error) {
        return { kind: 'blocked', reason: (error as BaseError).shortMessage ?? 'refused' }
      }
    },
  }
}

/** Checks status, encoding, media type and size of a response, then streams its body under the byte cap. */
function readResponse(res: IncomingMessage, url: URL, mode: Mode, maxBytes: number): Promise<Hop> {
  return new Promise<Hop>((resolvePromise, rejectPromise) => {
    let done = false
    const finish = (error: unknown, hop?: Hop): void => {
      if (done) return
      done = true
      if (error || !hop) {
        res.destroy()
        rejectPromise(error)
      } else resolvePromise(hop)
    }
    const status = res.statusCode ?? 0
    const where = redactUrl(url.href)
    // An exchange (a purchase) is not redirected: a payment header is for the host the policy checked, and a 3xx
    // is the answer (the agent may ask for the new URL, which is checked again).
    if (redirectStatuses.has(status) && mode !== 'exchange') {
      const location = res.headers.location
      res.destroy()
      if (location) resolvePromise({ redirect: location, status })
      else
        rejectPromise(new FetchFailedError({ reason: `${where} answered HTTP ${status} without a Location` }))
      return
    }
    if ((status < 200 || status > 299) && !(mode === 'exchange' && status >= 200 && status <= 599)) {
      return finish(new FetchFailedError({ reason: `${where} answered HTTP ${status}` }))
    }
    const header = (name: string) => {
      const value = res.headers[name]
      return typeof value === 'string' ? value : undefined
    }
    const x402 =
      mode === 'exchange'
        ? { 'payment-required': header('payment-required'), 'payment-response': header('payment-response') }
        : {}
    const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
    if (encoding !== 'identity') {
      return finish(
        new FetchFailedError({ reason: `${where} sent a compressed body, which is not accepted` }),
      )
    }
    const contentType = essence(res.headers['content-type'] ?? '')
    if (!acceptable(contentType, mode)) {
      return finish(
        new FetchFailedError({
          reason: `${where} sent ${contentType.replace(/[^a-z0-9/.+-]/g, '').slice(0, 64)}, expected ${mode === 'json' ? 'JSON' : 'text'}`,
        }),
      )
    }
    const declared = Number(res.headers['content-length'])
    if (declared > maxBytes) return finish(tooLarge(where, maxBytes))
    const chunks: Buffer[] = []
    let total = 0
    res.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total > maxBytes) finish(tooLarge(where, maxBytes))
      else chunks.push(chunk)
    })
    res.on('end', () =>
      finish(undefined, { contentType, body: Buffer.concat(chunks), status, headers: x402 }),
    )
    res.on('error', (error) =>
      finish(new FetchFailedError({ reason: `${where} broke off the body`, cause: error })),
    )
    res.on('close', () =>
      finish(new FetchFailedError({ reason: `${where} closed before the body was complete` })),
    )
  })
}

function tooLarge(where: string, maxBytes: number): UntrustedFetchBlockedError {
  return blocked(`${where} sent more than ${maxBytes} bytes`)
}

function blocked(reason: string): UntrustedFetchBlockedError {
  return new UntrustedFetchBlockedError({ reason })
}

function acceptable(contentType: string, mode: Mode): boolean {
  if (jsonTypes.has(contentType) || contentType.endsWith('+json')) return true
  // A purchase's answer is taken whatever its type (it may already be paid for); the caller decides what to show.
  if (mode === 'exchange') return true
  if (mode === 'json') return looseTypes.has(contentType)
  return contentType === '' || contentType === 'text/plain'
}

function essence(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase()
}

function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

function withoutHash(url: URL): string {
  const copy = new URL(url.href)
  copy.hash = ''
  return copy.href
}

/** UTF-8 text (JSON is UTF-8 by RFC 8259); a byte-order mark is dropped, invalid sequences become U+FFFD. */
function decode(body: Uint8Array): string {
  return new TextDecoder('utf-8').decode(body)
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolvePromise, rejectPromise) => {
    const onAbort = (): void => rejectPromise(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolvePromise(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        rejectPromise(error)
      },
    )
  })
}

function integer(value: number, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(`${field} must be an integer from ${min} to ${max}, got ${String(value)}.`, {
      field,
    })
  }
  return value
}

function gateway(value: string, field: string, allowHttp: boolean): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  const okScheme = url?.protocol === 'https:' || (allowHttp && url?.protocol === 'http:')
  if (!url || !okScheme || url.username || url.password || url.search || url.hash || !value.endsWith('/')) {
    throw new InvalidConfigError(
      `${field} must be an https:// base URL ending with "/", without credentials or query.`,
      {
        field,
        metaMessages: [`For example ${field === 'ipfsGateway' ? defaultIpfsGateway : defaultArweaveGateway}`],
      },
    )
  }
  return url.href
}
