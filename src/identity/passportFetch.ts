import { BaseError } from '../errors/index.js'
import { createAssertion } from './assertion.js'
import { contentDigest } from './contentDigest.js'
import { didKeyOf, type Ed25519Jwk, parseEd25519Jwk } from './didKey.js'
import { signRequest } from './httpSignature.js'

/** What {@link createPassportFetch} needs. */
export type CreatePassportFetchParameters = {
  /** The agent's passport (a vc+jwt) the token endpoint exchanges for an access token. */
  passport: string
  /**
   * The content hash of the code this agent runs (`sha256:…`, from `codeHash(path)` of its own build at start, or
   * `airlock passport hash PATH`): Airlock refuses a token to an agent whose code differs from what its passport locks.
   */
  codeHash?: string | undefined
  /** The agent's private Ed25519 JWK: signs the assertion and every request. */
  key: Ed25519Jwk
  /** The fetch to wrap; the global one by default. */
  fetch?: typeof fetch
  /** The protected resource (RFC 8707); by default the first request's URL without its query, or what discovery says. */
  resource?: string
  /** Skips discovery (RFC 9728, RFC 8414) when given. */
  tokenEndpoint?: string
  /** Unix seconds; for tests. */
  now?: () => number
}

/** The jwt-bearer grant type (RFC 7523 §2.1). */
const jwtBearer = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
/** A token this close to expiry is renewed before use, so it cannot expire in flight. */
const renewBeforeSeconds = 30

type Token = { token: string; expiresAt: number }
type Endpoints = { resource: string; tokenEndpoint: string }

/**
 * A `fetch` that authenticates an agent to an Airlock gateway (or any server speaking the same profile): it
 * exchanges the passport for an OAuth access token (RFC 7523 JWT-bearer grant, discovered through RFC 9728 and
 * RFC 8414), then sends every request with `Authorization: Bearer`, a `Content-Digest` of the body, and an RFC 9421
 * signature by the agent key. Hand it to an MCP client transport; one instance per server.
 *
 * @example
 * const transport = new StreamableHTTPClientTransport(new URL('https://gw.example/mcp'), {
 *   fetch: createPassportFetch({ passport, key: agentJwk }),
 * })
 * @throws {BaseError} INVALID_INPUT (when created): the key is not a private Ed25519 JWK or the passport is empty.
 * The returned fetch rejects with UNAUTHORIZED when the token endpoint refuses the passport, FETCH_FAILED when
 * discovery or the token endpoint cannot be used.
 */
export function createPassportFetch(parameters: CreatePassportFetchParameters): typeof fetch {
  // Validated once, when built: a bad key should fail at start-up, not on the first tool call.
  const key = parseEd25519Jwk(parameters.key, { private: true })
  const agent = didKeyOf(key)
  const { passport } = parameters
  if (typeof passport !== 'string' || passport.length === 0)
    throw new BaseError('INVALID_INPUT', 'createPassportFetch needs the agent passport (a vc+jwt string).')
  const baseFetch = parameters.fetch ?? globalThis.fetch
  const clock = parameters.now ?? (() => Math.floor(Date.now() / 1000))

  let discovery: Promise<Endpoints> | undefined
  let current: Token | undefined
  let pending: Promise<Token> | undefined

  function endpoints(requestUrl: string): Promise<Endpoints> {
    const resource = parameters.resource ?? resourceOf(requestUrl)
    if (parameters.tokenEndpoint !== undefined)
      return Promise.resolve({ resource, tokenEndpoint: parameters.tokenEndpoint })
    // Discovered once; a failure is not cached, so a server that was down is asked again next time.
    discovery ??= discover(baseFetch, resource).catch((error: unknown) => {
      discovery = undefined
      throw error
    })
    return discovery
  }

  async function requestToken(requestUrl: string): Promise<Token> {
    const { resource, tokenEndpoint } = await endpoints(requestUrl)
    const started = clock()
    const assertion = await createAssertion({
      agent,
      key,
      audience: tokenEndpoint,
      passport,
      codeHash: parameters.codeHash,
      now: started,
    })
    const body = new URLSearchParams({ grant_type: jwtBearer, assertion, resource })
    const response = await call(baseFetch, tokenEndpoint, 'token endpoint', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    })
    const json = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined
    if (!response.ok || typeof json?.access_token !== 'string') {
      const error = typeof json?.error === 'string' ? serverText(json.error) : `HTTP ${response.status}`
      const description =
        typeof json?.error_description === 'string' ? `: ${serverText(json.error_description)}` : ''
      throw new BaseError(
        response.status === 403
          ? 'FORBIDDEN'
          : response.status === 400 || response.status === 401
            ? 'UNAUTHORIZED'
            : 'FETCH_FAILED',
        `The token endpoint refused the passport (${error}${description}).`,
        {
          metaMessages: [
            'Check that the passport is current and issued to this agent key, and that the agent runs the code its passport locks (codeHash).',
          ],
        },
      )
    }
    if (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer')
      throw new BaseError('FETCH_FAILED', 'The token endpoint answered a token that is not a Bearer token.')
    const expiresIn =
      typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : renewBeforeSeconds * 2
    // From the time the request started: the server's clock started no earlier.
    return { token: json.access_token, expiresAt: started + expiresIn }
  }

  async function token(requestUrl: string): Promise<string> {
    if (current !== undefined && clock() < current.expiresAt - renewBeforeSeconds) return current.token
    // Concurrent callers share one token request.
    pending ??= requestToken(requestUrl)
      .then((t) => {
        current = t
        return t
      })
      .finally(() => {
        pending = undefined
      })
    return (await pending).token
  }

  const passportFetch: typeof fetch = async (input, init) => {
    // Request normalizes every input shape (URL or Request; Headers, record or pairs; any body) the way fetch
    // would, so the bytes digested and signed here are the bytes sent.
    const stream = init?.body instanceof ReadableStream && init.duplex === undefined
    const request = new Request(input, stream ? { ...init, duplex: 'half' } : init)
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer())
    const url = request.url
    const send = async (bearer: string): Promise<Response> => {
      const headers = new Headers(request.headers)
      if (body === undefined) headers.delete('content-digest')
      else headers.set('content-digest', contentDigest(body))
      headers.set('authorization', `Bearer ${bearer}`)
      const signed = await signRequest({
        method: request.method,
        url,
        headers,
        key,
        keyid: agent,
        created: clock(),
      })
      headers.set('signature-input', signed.signatureInput)
      headers.set('signature', signed.signature)
      const { body: _body, headers: _headers, method: _method, signal: _signal, ...rest } = init ?? {}
      return baseFetch(url, {
        ...rest,
        method: request.method,
        headers,
        redirect: request.redirect,
        signal: request.signal,
        ...(body === undefined ? {} : { body }),
      })
    }
    const bearer = await token(url)
    const response = await send(bearer)
    if (
      response.status !== 401 ||
      !/\berror\s*=\s*"?invalid_token\b/i.test(response.headers.get('www-authenticate') ?? '')
    )
      return response
    // The server no longer takes this token (revoked, rotated key): renew once, unless another request already did.
    await response.body?.cancel()
    if (current?.token === bearer) current = undefined
    return send(await token(url))
  }
  return passportFetch
}

/** RFC 9728 §3.1 / RFC 8414 §3.1: the well-known URL inserted between the host and the path. */
function wellKnown(identifier: string, suffix: string): string {
  const u = new URL(identifier)
  const path = u.pathname === '/' ? '' : u.pathname
  return `${u.origin}/.well-known/${suffix}${path}${u.search}`
}

/** The resource a request URL belongs to: the URL without query or fragment. */
function resourceOf(url: string): string {
  const u = new URL(url)
  return `${u.origin}${u.pathname}`
}

/** Identifiers compared as RFC 9728 §3.3 and RFC 8414 §3.3 require, forgiving only a trailing slash. */
function sameIdentifier(a: string, b: string): boolean {
  return a.replace(/\/$/, '') === b.replace(/\/$/, '')
}

async function discover(baseFetch: typeof fetch, resource: string): Promise<Endpoints> {
  const prm = await getJson(
    baseFetch,
    wellKnown(resource, 'oauth-protected-resource'),
    'protected resource metadata',
  )
  const servers = prm.authorization_servers
  if (typeof prm.resource !== 'string' || !Array.isArray(servers) || typeof servers[0] !== 'string')
    throw discoveryError('the protected resource metadata has no resource or authorization_servers')
  // A metadata document naming another resource could route our passport to someone else's token endpoint.
  if (!sameIdentifier(prm.resource, resource))
    throw discoveryError(`the protected resource metadata is for another resource than ${resource}`)
  const issuer = servers[0]
  const as = await getJson(
    baseFetch,
    wellKnown(issuer, 'oauth-authorization-server'),
    'authorization server metadata',
  )
  if (typeof as.issuer !== 'string' || !sameIdentifier(as.issuer, issuer))
    throw discoveryError(`the authorization server metadata is not for ${issuer}`)
  if (typeof as.token_endpoint !== 'string' || !URL.canParse(as.token_endpoint))
    throw discoveryError('the authorization server metadata has no token_endpoint')
  return { resource: prm.resource, tokenEndpoint: as.token_endpoint }
}

async function getJson(baseFetch: typeof fetch, url: string, what: string): Promise<Record<string, unknown>> {
  const response = await call(baseFetch, url, what, { headers: { accept: 'application/json' } })
  const json = (await response.json().catch(() => undefined)) as unknown
  if (!response.ok || typeof json !== 'object' || json === null)
    throw discoveryError(
      `${url} answered HTTP ${response.status}${response.ok ? ' without a JSON object' : ''}`,
    )
  return json as Record<string, unknown>
}

async function call(
  baseFetch: typeof fetch,
  url: string,
  what: string,
  init: RequestInit,
): Promise<Response> {
  try {
    return await baseFetch(url, init)
  } catch (cause) {
    throw new BaseError('FETCH_FAILED', `The ${what} at ${url} cannot be reached.`, {
      metaMessages: ['Check the gateway URL and that the gateway is running.'],
      cause,
    })
  }
}

function discoveryError(reason: string): BaseError {
  return new BaseError('FETCH_FAILED', `OAuth discovery failed: ${reason}.`, {
    metaMessages: ['Pass tokenEndpoint (and resource) to createPassportFetch to skip discovery.'],
  })
}

/** Text from a server: control characters removed, at most 200 characters. */
function serverText(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069]/gu, '')
    .slice(0, 200)
}
