import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { calculateJwkThumbprint, jwtVerify, SignJWT } from 'jose'
import { BaseError } from '../errors/index.js'
import { type Ed25519Jwk, publicKeyOfDidKey } from './didKey.js'

/** What {@link mintAccessToken} needs. */
export type MintAccessTokenParameters = {
  /** The authorization server: its issuer URL, its private Ed25519 signing key and that key's `kid`. */
  issuer: { url: string; key: Ed25519Jwk; kid: string }
  /** The agent's did:key: `sub` and `client_id`, and the key the token is bound to (`cnf.jkt`). */
  agent: string
  /** The protected resource the token is for (RFC 8707 `resource`, becomes `aud`). */
  resource: string
  /** The id of the passport the token was granted on, so revoking the passport can be checked per request. */
  passportId: string
  /** Space-separated scopes; `mcp` by default. */
  scope?: string
  /** Seconds the token is valid; 300 by default. */
  lifetimeSeconds?: number
  /** Unix seconds; now by default. */
  now?: number
}

/** The token and its lifetime in seconds (the token response's `expires_in`). */
export type MintAccessTokenReturnType = { token: string; expiresIn: number }

/**
 * Mints an RFC 9068 JWT access token for an agent, bound to its key (`cnf.jkt`, the RFC 7638 thumbprint): a
 * stolen token is useless without the key that signs each request.
 *
 * @example
 * const { token, expiresIn } = await mintAccessToken({ issuer, agent, resource: 'https://gw.example/mcp', passportId })
 * @throws {BaseError} INVALID_INPUT: the agent is not an Ed25519 did:key, the issuer key is not private, or the lifetime is not positive
 */
export async function mintAccessToken(
  parameters: MintAccessTokenParameters,
): Promise<MintAccessTokenReturnType> {
  const { issuer, agent, resource, passportId } = parameters
  const scope = parameters.scope ?? 'mcp'
  const lifetime = parameters.lifetimeSeconds ?? 300
  const now = parameters.now ?? Math.floor(Date.now() / 1000)
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0)
    throw new BaseError('INVALID_INPUT', 'lifetimeSeconds must be a whole number of seconds above 0.')
  const jkt = await calculateJwkThumbprint(publicKeyOfDidKey(agent), 'sha256')
  let key: ReturnType<typeof createPrivateKey>
  try {
    key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: issuer.key.x, d: issuer.key.d ?? '' },
      format: 'jwk',
    })
  } catch (cause) {
    throw new BaseError('INVALID_INPUT', 'The token issuer key is not a private Ed25519 JWK (with "d").', {
      cause,
    })
  }
  const token = await new SignJWT({ client_id: agent, scope, passport_id: passportId, cnf: { jkt } })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: issuer.kid })
    .setIssuer(issuer.url)
    .setSubject(agent)
    .setAudience(resource)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key)
  return { token, expiresIn: lifetime }
}

/** What {@link verifyAccessToken} checks against. */
export type VerifyAccessTokenOptions = {
  /** The issuer URL and its Ed25519 key (the public part is enough). */
  issuer: { url: string; key: Ed25519Jwk }
  /** This resource's identifier; the token's `aud` must be exactly this. */
  resource: string
  /** Unix seconds; now by default. */
  now?: number
  /** Clock difference tolerated on `exp`; 30 s by default. */
  clockToleranceSeconds?: number
}

/** What a verified access token says. Check `jkt` against the request signer's key with {@link keyMatchesToken}. */
export type VerifyAccessTokenReturnType = {
  agent: string
  passportId: string
  scope: string
  exp: number
  jkt: string
}

/**
 * Verifies an access token minted by {@link mintAccessToken}: `typ` at+jwt, EdDSA under the issuer key, the
 * issuer, `aud` exactly this resource (RFC 8707), not expired, and the claims the gateway relies on present.
 *
 * @example
 * const { agent, jkt } = await verifyAccessToken(bearer, { issuer: { url, key }, resource: 'https://gw.example/mcp' })
 * @throws {BaseError} UNAUTHORIZED: the token is malformed, forged, expired or issued for another resource
 */
export async function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<VerifyAccessTokenReturnType> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  let key: ReturnType<typeof createPublicKey>
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: options.issuer.key.x }, format: 'jwk' })
  } catch (cause) {
    throw new BaseError('INVALID_INPUT', 'The token issuer key is not an Ed25519 JWK.', { cause })
  }
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload']
  try {
    ;({ payload } = await jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      issuer: options.issuer.url,
      currentDate: new Date(now * 1000),
      clockTolerance: options.clockToleranceSeconds ?? 30,
      requiredClaims: ['sub', 'aud', 'exp', 'iat', 'jti'],
    }))
  } catch (cause) {
    throw refuse(joseReason(cause), cause)
  }
  // Exact string equality (not jose's "contains"): a token for several resources is a token for none.
  if (payload.aud !== options.resource) throw refuse('it was issued for another resource')
  const { sub, exp, scope, client_id, passport_id, cnf } = payload as typeof payload & {
    scope?: unknown
    client_id?: unknown
    passport_id?: unknown
    cnf?: { jkt?: unknown }
  }
  if (typeof sub !== 'string' || client_id !== sub) throw refuse('its sub and client_id disagree')
  if (typeof exp !== 'number') throw refuse('its exp is not a number')
  if (typeof scope !== 'string') throw refuse('its scope is missing')
  if (typeof passport_id !== 'string' || passport_id.length === 0) throw refuse('its passport_id is missing')
  const jkt = cnf?.jkt
  if (typeof jkt !== 'string' || jkt.length === 0) throw refuse('it is not bound to a key (cnf.jkt)')
  return { agent: sub, passportId: passport_id, scope, exp, jkt }
}

/**
 * Whether `agentKey` is the key an access token is bound to: its RFC 7638 thumbprint equals the token's `cnf.jkt`.
 *
 * @example if (!(await keyMatchesToken(publicKeyOfDidKey(keyid), claims.jkt))) throw new BaseError('UNAUTHORIZED', '…')
 */
export async function keyMatchesToken(agentKey: Ed25519Jwk, jkt: string): Promise<boolean> {
  // Only the public members: a private JWK has the same thumbprint, but `d` should not travel further than needed.
  return (
    (await calculateJwkThumbprint({ kty: agentKey.kty, crv: agentKey.crv, x: agentKey.x }, 'sha256')) === jkt
  )
}

/** What went wrong, from a jose error, in words a client can act on. */
function joseReason(error: unknown): string {
  const e = error as { code?: string; claim?: string }
  if (e.code === 'ERR_JWT_EXPIRED') return 'it has expired'
  if (e.code === 'ERR_JOSE_ALG_NOT_ALLOWED') return 'its alg is not EdDSA'
  if (e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'its signature does not verify'
  if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    if (e.claim === 'typ') return 'it is not an access token (typ at+jwt)'
    if (e.claim === 'iss') return 'it was issued by another server'
    return `its ${e.claim} claim is missing or invalid`
  }
  return 'it is not a valid JWT'
}

function refuse(reason: string, cause?: unknown): BaseError {
  return new BaseError('UNAUTHORIZED', `The access token is refused: ${reason}.`, {
    metaMessages: ['Get a new access token from the token endpoint (a client does this again after a 401).'],
    ...(cause === undefined ? {} : { cause }),
  })
}
