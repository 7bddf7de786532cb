import type { Caller } from '../context/caller.js'
import { BaseError, toBaseError } from '../errors/index.js'
import {
  keyMatchesToken,
  mintAccessToken,
  type VerifyAccessTokenReturnType,
  verifyAccessToken,
} from './accessToken.js'
import { verifyAssertion } from './assertion.js'
import { publicKeyOfDidKey } from './didKey.js'
import { verifyRequestSignature } from './httpSignature.js'
import { agentCaller, type PassportRegistry } from './passportRegistry.js'

/** The grant type of the token exchange (RFC 7523 §2.1). */
export const jwtBearerGrantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/** Options of {@link createAuthenticator}. */
export type AuthenticatorOptions = {
  registry: () => Promise<PassportRegistry>
  /** The gateway's public base URL (`http://127.0.0.1:8402`), read per request (it is known once the server listens). */
  baseUrl: () => string
  tokenLifetimeSeconds: number
  /** Records an authentication outcome worth keeping (tokens issued, refusals); must not throw. */
  audit?:
    | ((entry: { kind: string; actor?: string | undefined; data: Record<string, unknown> }) => void)
    | undefined
}

/** A refused request: the HTTP status, the OAuth error code and a sentence saying what to fix. */
export class AuthError extends BaseError {
  override name = 'AuthError'
  readonly oauthError: string
  constructor(status: 400 | 401 | 403, oauthError: string, message: string, cause?: unknown) {
    super(status === 403 ? 'FORBIDDEN' : status === 400 ? 'INVALID_INPUT' : 'UNAUTHORIZED', message, {
      cause,
    })
    this.oauthError = oauthError
  }
}

/** One HTTP request as the authenticator sees it: the public URL the client addressed, headers and body bytes. */
export type AuthRequest = { method: string; url: string; headers: Headers; body: Uint8Array }

/** The gateway as an OAuth 2.1 protected resource and its own authorization server (DESIGN §7). */
export type Authenticator = {
  /** The MCP endpoint's resource identifier (`<base>/mcp`), the audience of every token. */
  resource(): string
  /** `/.well-known/oauth-protected-resource` (RFC 9728). */
  resourceMetadata(): Record<string, unknown>
  /** `/.well-known/oauth-authorization-server` (RFC 8414). */
  authorizationServerMetadata(): Record<string, unknown>
  /** The `WWW-Authenticate` value of a 401 (RFC 6750 §3, RFC 9728 §5.1). */
  challenge(error?: AuthError | undefined): string
  /**
   * The token endpoint: an agent's JWT-bearer assertion (signed with its key, carrying its passport) for a
   * short-lived access token bound to that key and to this resource.
   * @throws {AuthError} 400 invalid_request / unsupported_grant_type / invalid_target, 401 invalid_grant
   */
  exchange(
    form: URLSearchParams,
  ): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }>
  /**
   * Verifies one request's access token, its RFC 9421 signature (by the token's key, over method, target URI,
   * authorization, content digest and the MCP headers present, nonce unused on every replica) and the passport's
   * live status; returns the agent as the caller.
   * @throws {AuthError} 401 with what was wrong
   */
  authenticate(request: AuthRequest): Promise<Caller>
  /**
   * {@link Authenticator.authenticate}, except that the nonce is being recorded when it returns: `fresh` rejects
   * (with the 401) when it was used before. For a request without effects (a read) the caller may run it
   * meanwhile and withhold its answer on a replay; anything else must await `fresh` first.
   * @throws {AuthError} 401 with what was wrong (except a replay, which `fresh` reports)
   */
  authenticateDeferred(request: AuthRequest): Promise<{ caller: Caller; fresh: Promise<void> }>
}

/** Headers an agent's signature must cover whenever the request carries them. */
const coveredHeaders = ['authorization', 'content-digest', 'mcp-protocol-version', 'mcp-method', 'mcp-name']

/**
 * The authenticator over the passport registry.
 *
 * @example
 * const auth = createAuthenticator({ registry: () => passports, baseUrl: () => gateway.publicUrl, tokenLifetimeSeconds: 300 })
 * const caller = await auth.authenticate({ method, url, headers, body })
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const resource = () => `${options.baseUrl()}/mcp`
  const tokenEndpoint = () => `${options.baseUrl()}/oauth/token`
  const audit = options.audit ?? (() => {})
  // Refusals are audited, but anyone who can reach the port can cause them: at most 100 a minute one by one per
  // replica, the rest counted in one entry when the minute is over, so junk traffic cannot flood the audit log.
  let minute = 0
  let refusedThisMinute = 0
  let unrecorded = 0
  function auditRefusal(entry: { kind: string; actor?: string | undefined; data: Record<string, unknown> }) {
    const now = Date.now()
    if (now - minute >= 60_000) {
      if (unrecorded > 0)
        audit({
          kind: 'auth.refused',
          data: { at: 'summary', unrecorded, reason: 'more than 100 refusals in a minute' },
        })
      minute = now
      refusedThisMinute = 0
      unrecorded = 0
    }
    if (refusedThisMinute++ < 100) audit(entry)
    else unrecorded++
  }

  /** A refusal as the client gets it (an AuthError; a store outage passes through), audited under the agent. */
  function refusal(
    error: unknown,
    oauthError: string,
    at: 'token' | 'request',
    agent: string | undefined,
  ): AuthError {
    const refused = asAuthError(error, oauthError)
    auditRefusal({
      kind: 'auth.refused',
      actor: agent ? `agent:${agent}` : undefined,
      data: { at, reason: refused.shortMessage },
    })
    return refused
  }
  // A token that verified once (signature, issuer, audience, key binding) is the same string next time: only its
  // expiry is checked again. Bounded, and dropped at expiry.
  const verified = new Map<string, VerifyAccessTokenReturnType>()

  async function verifyToken(
    token: string,
    registry: PassportRegistry,
  ): Promise<VerifyAccessTokenReturnType> {
    const now = Math.floor(Date.now() / 1000)
    const hit = verified.get(token)
    if (hit && hit.exp > now) return hit
    if (hit) verified.delete(token)
    const issuer = await registry.issuer()
    const claims = await verifyAccessToken(token, {
      issuer: { url: options.baseUrl(), key: issuer.key },
      resource: resource(),
    })
    if (!(await keyMatchesToken(publicKeyOfDidKey(claims.agent), claims.jkt)))
      throw new AuthError(401, 'invalid_token', 'The token is not bound to the key of the agent it names.')
    if (verified.size >= 10_000) verified.clear()
    verified.set(token, claims)
    return claims
  }

  const self: Authenticator = {
    resource,

    resourceMetadata: () => ({
      resource: resource(),
      authorization_servers: [options.baseUrl()],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp'],
      resource_name: 'Airlock MCP gateway',
      // Not registered metadata: where an agent's proof of possession is described (RFC 9421 over these).
      airlock_signature_components: ['@method', '@target-uri', ...coveredHeaders],
    }),

    authorizationServerMetadata: () => ({
      issuer: options.baseUrl(),
      token_endpoint: tokenEndpoint(),
      grant_types_supported: [jwtBearerGrantType],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['mcp'],
      response_types_supported: [],
    }),

    challenge(error) {
      const parts = [
        `resource_metadata="${options.baseUrl()}/.well-known/oauth-protected-resource/mcp"`,
        'scope="mcp"',
      ]
      if (error) {
        parts.push(`error="${error.oauthError}"`)
        parts.push(`error_description="${error.shortMessage.replace(/["\\\r\n]/g, ' ').slice(0, 300)}"`)
      }
      return `Bearer ${parts.join(', ')}`
    },

    async exchange(form) {
      const grantType = form.get('grant_type')
      if (grantType !== jwtBearerGrantType)
        throw new AuthError(400, 'unsupported_grant_type', `grant_type must be ${jwtBearerGrantType}.`)
      const assertion = form.get('assertion')
      if (!assertion || assertion.length > 65_536)
        throw new AuthError(
          400,
          'invalid_request',
          'The assertion (the agent-signed JWT carrying its passport) is missing.',
        )
      const target = form.get('resource')
      if (target !== null && target !== resource())
        throw new AuthError(
          400,
          'invalid_target',
          `This authorization server issues tokens for ${resource()} only.`,
        )
      let agent: string | undefined
      try {
        const claims = await verifyAssertion(assertion, { audience: tokenEndpoint() })
        agent = claims.agent
        const registry = await options.registry()
        const record = await registry.verify(claims.passport)
        if (record.agent !== claims.agent)
          throw new AuthError(
            401,
            'invalid_grant',
            'The passport was issued to another agent key than the one that signed the assertion.',
          )
        const attested = codeHashClaim(assertion)
        if (attested !== record.codeHash)
          throw new AuthError(
            403,
            'invalid_grant',
            attested === undefined
              ? 'The assertion does not say which code the agent runs (claim code_hash).'
              : 'The agent runs other code than its passport locks (code_hash differs).',
          )
        if (!(await registry.useNonce(claims.agent, `jti:${claims.jti}`, claims.exp)))
          throw new AuthError(401, 'invalid_grant', 'Replayed: this assertion was already exchanged.')
        const issuer = await registry.issuer()
        const minted = await mintAccessToken({
          issuer: { url: options.baseUrl(), key: issuer.key, kid: issuer.kid },
          agent: claims.agent,
          resource: resource(),
          passportId: record.id,
          lifetimeSeconds: options.tokenLifetimeSeconds,
        })
        audit({
          kind: 'passport.token_issued',
          actor: `agent:${claims.agent}`,
          data: { passport: record.id, expiresIn: minted.expiresIn },
        })
        return {
          access_token: minted.token,
          token_type: 'Bearer',
          expires_in: minted.expiresIn,
          scope: 'mcp',
        }
      } catch (error) {
        throw refusal(error, 'invalid_grant', 'token', agent)
      }
    },

    async authenticateDeferred(request) {
      const header = request.headers.get('authorization') ?? ''
      const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header)
      if (!match)
        throw new AuthError(
          401,
          'invalid_request',
          header
            ? 'The Authorization header is not a Bearer token.'
            : 'This gateway needs an access token and a signed request.',
        )
      let agent: string | undefined
      let recorded: Promise<boolean> = Promise.resolve(false)
      try {
        const registry = await options.registry()
        const token = await verifyToken(match[1]!, registry)
        agent = token.agent
        await verifyRequestSignature({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: request.body,
          // The token is bound to the agent's key: only that key's signature counts (a token with another key fails).
          resolveKey: (keyid) => {
            if (keyid !== token.agent)
              throw new AuthError(
                401,
                'invalid_token',
                'The request is signed by another key than the one the token was issued to.',
              )
            return publicKeyOfDidKey(keyid)
          },
          required: ['@method', '@target-uri', ...coveredHeaders],
          // Recorded once the signature verified; awaited below, or by the caller of `authenticateDeferred`.
          useNonce: (keyid, nonce, expires) => {
            recorded = registry.useNonce(keyid, nonce, expires)
            return Promise.resolve(true)
          },
        })
        const caller = agentCaller(await registry.current(token.agent, token.passportId))
        const fresh = recorded.then((unused) => {
          if (!unused) throw new AuthError(401, 'invalid_token', 'Replayed: this nonce was already used.')
        })
        // Refused replays are audited and answered like any other refusal, whoever awaits them.
        const checked = fresh.catch((error: unknown) => {
          throw refuse(error)
        })
        checked.catch(() => {})
        return { caller, fresh: checked }
      } catch (error) {
        throw refuse(error)
      }

      function refuse(error: unknown): AuthError {
        return refusal(error, 'invalid_token', 'request', agent)
      }
    },

    async authenticate(request) {
      const { caller, fresh } = await self.authenticateDeferred(request)
      await fresh
      return caller
    },
  }
  return self
}

/** The `code_hash` an assertion attests (read after it verified). */
function codeHashClaim(assertion: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      code_hash?: unknown
    }
    return typeof payload.code_hash === 'string' ? payload.code_hash : undefined
  } catch {
    return undefined
  }
}

function asAuthError(error: unknown, oauthError: string): AuthError {
  if (error instanceof AuthError) return error
  const e = toBaseError(error)
  if (e.code === 'STORE_UNAVAILABLE') throw e
  return new AuthError(e.code === 'FORBIDDEN' ? 403 : 401, oauthError, e.shortMessage, error)
}
