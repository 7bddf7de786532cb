import { randomBytes } from 'node:crypto'
import { decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from 'jose'
import { BaseError } from '../errors/index.js'
import { type Ed25519Jwk, parseEd25519Jwk } from './didKey.js'

/** The JWS `typ` of a developer proof: no other Airlock token (or anyone's JWT) can be replayed as one. */
const proofTyp = 'airlock-developer-proof+jwt'
/** How long a challenge, and the proof signed over it, stay valid. */
const lifetimeSeconds = 600
const clockToleranceSeconds = 60
const maxProofLength = 4096

/** A fresh registration challenge and when it stops being accepted. */
export type DeveloperChallenge = { challenge: string; expiresAt: Date }

/** Parameters of {@link signDeveloperChallenge}. */
export type SignDeveloperChallengeParameters = {
  /** The developer's DID (did:key or did:web), sent as `iss` and `kid`. */
  did: string
  /** The developer's Ed25519 private key. */
  key: Ed25519Jwk
  /** The challenge the gateway handed out ({@link developerChallenge}). */
  challenge: string
  /** The gateway the proof is for (its public URL): a proof for one gateway is refused by another. */
  audience: string
  /** The signing time (`iat`). Default: now. */
  now?: Date | undefined
}

/** Parameters of {@link verifyDeveloperProof}. */
export type VerifyDeveloperProofParameters = {
  /** The compact JWS the developer sent. */
  proof: string
  /** The DID the developer registers as. */
  did: string
  /** The challenge this gateway handed out and still holds (unused, not expired). */
  challenge: string
  /** This gateway's audience string, as handed to the developer. */
  audience: string
  /** The keys `did` stands for ({@link resolveDeveloperKeys}); the proof must be signed by one of them. */
  keys: readonly Ed25519Jwk[]
  /** The time to check against. Default: now. */
  now?: Date | undefined
}

/**
 * A registration challenge: 32 random bytes (base64url) that the developer signs with their DID's key, valid for
 * 10 minutes. The gateway keeps it until it is used once or expires.
 *
 * @example
 * const { challenge, expiresAt } = developerChallenge()
 */
export function developerChallenge(): DeveloperChallenge {
  return {
    challenge: randomBytes(32).toString('base64url'),
    expiresAt: new Date(Date.now() + lifetimeSeconds * 1000),
  }
}

/**
 * Signs a registration challenge: a compact JWS (EdDSA) with header
 * `{ alg: 'EdDSA', typ: 'airlock-developer-proof+jwt', kid: did }` and payload
 * `{ iss: did, aud: audience, challenge, iat, exp: iat + 600 }`.
 *
 * @example
 * const proof = await signDeveloperChallenge({ did, key: jwk, challenge, audience: 'https://gateway.example' })
 * @throws {BaseError} INVALID_INPUT: the key is not an Ed25519 private JWK, or a field is empty or too long
 */
export async function signDeveloperChallenge(parameters: SignDeveloperChallengeParameters): Promise<string> {
  const { did, challenge, audience } = parameters
  const key = parseEd25519Jwk(parameters.key, { private: true })
  for (const [field, value] of Object.entries({ did, challenge, audience }))
    if (typeof value !== 'string' || value.length === 0 || value.length > 512)
      throw new BaseError('INVALID_INPUT', `"${field}" must be a string of 1 to 512 characters.`, { field })
  const iat = Math.floor((parameters.now ?? new Date()).getTime() / 1000)
  return new SignJWT({ challenge })
    .setProtectedHeader({ alg: 'EdDSA', typ: proofTyp, kid: did })
    .setIssuer(did)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeSeconds)
    .sign(await importJWK(key, 'EdDSA'))
}

/**
 * Checks a developer's registration proof: signed (EdDSA) by one of `keys`, typed as a developer proof, issued
 * by `did` for `audience` over `challenge`, issued within the last 10 minutes and not expired (60 s clock
 * tolerance). Resolves when all hold; the caller then consumes the challenge so it cannot be replayed.
 *
 * @example
 * await verifyDeveloperProof({ proof, did, challenge, audience, keys: await resolveDeveloperKeys(did) })
 * @throws {BaseError} UNAUTHORIZED: any check failed; the message says which
 */
export async function verifyDeveloperProof(parameters: VerifyDeveloperProofParameters): Promise<void> {
  const { proof, did, challenge, audience, keys, now } = parameters
  if (typeof proof !== 'string' || proof.length > maxProofLength)
    throw refused(`The developer proof is not a string of at most ${maxProofLength} characters.`)
  let header: ReturnType<typeof decodeProtectedHeader>
  try {
    header = decodeProtectedHeader(proof)
  } catch {
    throw refused('The developer proof is not a compact JWS.')
  }
  if (header.alg !== 'EdDSA') throw refused('The developer proof is not signed with EdDSA (Ed25519).')
  if (header.typ !== proofTyp) throw refused(`The developer proof is not typed "${proofTyp}".`)
  if (header.kid !== did) throw refused('The developer proof names another key id (kid) than the DID.')
  if (keys.length === 0) throw refused('The DID has no key to check the developer proof with.')
  for (const jwk of keys) {
    let payload: Record<string, unknown>
    try {
      const key = await importJWK(parseEd25519Jwk(jwk), 'EdDSA')
      payload = (
        await jwtVerify(proof, key, {
          algorithms: ['EdDSA'],
          typ: proofTyp,
          issuer: did,
          audience,
          requiredClaims: ['iss', 'aud', 'iat', 'exp'],
          maxTokenAge: lifetimeSeconds,
          clockTolerance: clockToleranceSeconds,
          ...(now ? { currentDate: now } : {}),
        })
      ).payload
    } catch (error) {
      // jose checks the signature before the claims: any other failure is final, this key did sign it.
      if ((error as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') continue
      throw claimFailure(error)
    }
    if (payload.challenge !== challenge)
      throw refused('The developer proof signs another challenge; sign the one this gateway handed out.')
    return
  }
  throw refused('The developer proof is not signed by any key of the DID.')
}

function claimFailure(error: unknown): BaseError {
  const { code, claim } = error as { code?: string; claim?: string }
  if (code === 'ERR_JWT_EXPIRED')
    return refused('The developer proof has expired; sign a new challenge.', error)
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    if (claim === 'aud') return refused('The developer proof is for another audience (gateway).', error)
    if (claim === 'iss') return refused('The developer proof is issued by another DID.', error)
    return refused(`The developer proof's "${String(claim).slice(0, 20)}" claim is invalid.`, error)
  }
  return refused('The developer proof is malformed.', error)
}

function refused(message: string, cause?: unknown): BaseError {
  return new BaseError('UNAUTHORIZED', message, {
    metaMessages: ['Ask the gateway for a new challenge and sign it with the key of the DID you register.'],
    ...(cause === undefined ? {} : { cause }),
  })
}
