import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose'
import { BaseError } from '../errors/index.js'
import { didKeyOf, type Ed25519Jwk, publicKeyOfDidKey } from './didKey.js'

/** What {@link createAssertion} needs. */
export type CreateAssertionParameters = {
  /** The agent's did:key: issuer, subject and `kid` of the assertion. */
  agent: string
  /** The agent's private Ed25519 JWK; its did:key must be `agent`. */
  key: Ed25519Jwk
  /** The token endpoint URL the assertion is for (RFC 7523 §3: `aud`). */
  audience: string
  /** The agent's passport (a vc+jwt), carried to the authorization server in the `passport` claim. */
  passport: string
  /**
   * The content hash of the code the agent runs now (`sha256:…`, `airlock passport hash` / `codeHash()`), sent as
   * the `code_hash` claim: the gateway refuses an agent whose running code differs from what its passport locks.
   */
  codeHash?: string | undefined
  /** Seconds the assertion is valid; 60 by default. */
  lifetimeSeconds?: number
  /** Unix seconds; now by default. */
  now?: number
}

/**
 * A JWT-bearer client assertion (RFC 7523) an agent sends to the token endpoint: signed with its own did:key, so
 * the authorization server needs nothing registered to check it, and carrying the passport that vouches for it.
 *
 * @example
 * const assertion = await createAssertion({ agent: did, key: jwk, audience: 'https://gw.example/oauth/token', passport })
 * @throws {BaseError} INVALID_INPUT: the key is not the private key of `agent`, or the lifetime is not positive
 */
export async function createAssertion(parameters: CreateAssertionParameters): Promise<string> {
  const { agent, key, audience, passport } = parameters
  const lifetime = parameters.lifetimeSeconds ?? 60
  const now = parameters.now ?? Math.floor(Date.now() / 1000)
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0)
    throw new BaseError('INVALID_INPUT', 'lifetimeSeconds must be a whole number of seconds above 0.')
  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: key.x, d: key.d ?? '' },
      format: 'jwk',
    })
  } catch (cause) {
    throw new BaseError('INVALID_INPUT', 'The assertion key is not a private Ed25519 JWK (with "d").', {
      cause,
    })
  }
  // Caught here rather than as a 401 from the server: a key that is not the agent's can never succeed.
  if (didKeyOf(privateKey) !== agent)
    throw new BaseError('INVALID_INPUT', 'The assertion key is not the key of the agent did:key.', {
      metaMessages: ['Pass the private key the passport was issued to.'],
    })
  return new SignJWT({ passport, ...(parameters.codeHash ? { code_hash: parameters.codeHash } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: agent })
    .setIssuer(agent)
    .setSubject(agent)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(privateKey)
}

/** What {@link verifyAssertion} checks against. */
export type VerifyAssertionOptions = {
  /** The token endpoint URL, exactly as advertised in the authorization server metadata. */
  audience: string
  /** Unix seconds; now by default. */
  now?: number
  /** Clock difference tolerated on `iat` and `exp`; 60 s by default. */
  clockToleranceSeconds?: number
  /** Longest `exp - iat` accepted; 300 s by default. */
  maxLifetimeSeconds?: number
}

/** What a verified assertion says. Record `jti` until `exp` to refuse a replayed assertion. */
export type VerifyAssertionReturnType = { agent: string; jti: string; exp: number; passport: string }

/**
 * Verifies a JWT-bearer client assertion (RFC 7523 §3): EdDSA, signed by the did:key in `iss` (which must equal
 * `sub`), for this `audience`, current, short-lived, with a `jti` and a `passport`. The passport itself is not
 * checked here.
 *
 * @example
 * const { agent, jti, passport } = await verifyAssertion(form.get('assertion'), { audience: tokenEndpoint })
 * @throws {BaseError} UNAUTHORIZED: anything about the assertion is wrong (the message says what)
 */
export async function verifyAssertion(
  jwt: string,
  options: VerifyAssertionOptions,
): Promise<VerifyAssertionReturnType> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const tolerance = options.clockToleranceSeconds ?? 60
  const maxLifetime = options.maxLifetimeSeconds ?? 300
  let header: ReturnType<typeof decodeProtectedHeader>
  let unverified: ReturnType<typeof decodeJwt>
  try {
    header = decodeProtectedHeader(jwt)
    unverified = decodeJwt(jwt)
  } catch (cause) {
    throw refuse('it is not a JWT', cause)
  }
  // Checked before any key is derived: `none` and every other algorithm never reach verification.
  if (header.alg !== 'EdDSA') throw refuse('its alg is not EdDSA')
  if (header.typ !== undefined && header.typ.toUpperCase() !== 'JWT')
    throw refuse('its typ is not JWT (an access token or a credential is not an assertion)')
  const issuer = unverified.iss
  if (typeof issuer !== 'string' || !issuer.startsWith('did:key:'))
    throw refuse('its iss is not the agent did:key')
  if (unverified.sub !== issuer) throw refuse('its sub is not its iss')
  if (header.kid !== undefined && header.kid !== issuer) throw refuse('its kid is not its iss')
  let publicKey: ReturnType<typeof createPublicKey>
  try {
    publicKey = createPublicKey({ key: { ...publicKeyOfDidKey(issuer) }, format: 'jwk' })
  } catch (cause) {
    throw refuse('its iss is not an Ed25519 did:key', cause)
  }
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload']
  try {
    ;({ payload } = await jwtVerify(jwt, publicKey, {
      algorithms: ['EdDSA'],
      audience: options.audience,
      currentDate: new Date(now * 1000),
      clockTolerance: tolerance,
      requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti'],
    }))
  } catch (cause) {
    throw refuse(joseReason(cause), cause)
  }
  const { iat, exp, jti, passport } = payload
  if (typeof iat !== 'number' || typeof exp !== 'number') throw refuse('iat or exp is not a number')
  if (iat > now + tolerance) throw refuse('it was issued in the future (check the client clock)')
  if (exp - iat > maxLifetime) throw refuse(`it lives longer than ${maxLifetime} s`)
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128)
    throw refuse('its jti is missing or too long')
  if (typeof passport !== 'string' || passport.length === 0) throw refuse('its passport claim is missing')
  return { agent: issuer, jti, exp, passport }
}

/** What went wrong, from a jose error, in words a client can act on. */
function joseReason(error: unknown): string {
  const e = error as { code?: string; claim?: string }
  if (e.code === 'ERR_JWT_EXPIRED') return 'it has expired'
  if (e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'its signature does not verify under its iss'
  if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
    return e.claim === 'aud'
      ? 'it is for another audience (aud must be the token endpoint URL)'
      : `its ${e.claim} claim is missing or invalid`
  return 'it is not a valid JWT'
}

function refuse(reason: string, cause?: unknown): BaseError {
  return new BaseError('UNAUTHORIZED', `The client assertion is refused: ${reason}.`, {
    metaMessages: [
      'Send a fresh RFC 7523 assertion: EdDSA, iss = sub = your did:key, aud = the token endpoint, exp ≤ 5 min, jti, passport.',
    ],
    ...(cause === undefined ? {} : { cause }),
  })
}
