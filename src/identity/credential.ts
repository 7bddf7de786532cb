import { randomUUID } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, importJWK, type JWTPayload, jwtVerify, SignJWT } from 'jose'
import { z } from 'zod'
import { BaseError } from '../errors/index.js'
import { didKeyOf, type Ed25519Jwk, parseEd25519Jwk, publicKeyOfDidKey } from './didKey.js'
import { AgentGrantMessage, type SignedGrant, verifyGrant } from './grant.js'

/** A credential issuer: its did:key and its Ed25519 key (private to issue, public suffices to verify). */
export type CredentialIssuer = { did: string; key: Ed25519Jwk }

/** Parameters of {@link issuePassport}. */
export type IssuePassportParameters = {
  /** The gateway's issuer key; `did` must be the did:key of `key` (a private JWK). */
  issuer: CredentialIssuer
  /** The agent's did:key: the credential's subject. */
  agent: string
  /** The registered developer's DID (did:key or did:web). */
  developer: string
  /** The agent code's hash (`codeHash`), which the grant must name too. */
  codeHash: string
  /** The user's signed grant for this agent and code. */
  grant: SignedGrant
  /** Where this passport's status is published: `${url}/revocation` and `${url}/suspension`, bit `index`. */
  status: { url: string; index: number }
  validFrom: Date
  /** At most the grant's expiry. */
  validUntil: Date
  /** The credential id. Default: a fresh `urn:uuid:…`. */
  id?: string | undefined
}

/** Options of {@link verifyPassport}. */
export type VerifyPassportOptions = {
  /** The issuers this gateway trusts (its own key; old keys during a rotation). */
  issuers: readonly CredentialIssuer[]
  /** The time to check against. Default: now. */
  now?: Date | undefined
  /** Allowed clock skew for `nbf` and `exp`. Default 60 s. */
  clockToleranceSeconds?: number | undefined
}

/** What a verified passport says. Its revocation and suspension status is not checked here. */
export type VerifiedPassport = {
  /** The credential id (`urn:uuid:…`), also the JWT's `jti`. */
  id: string
  /** The issuer's DID. */
  issuer: string
  /** The agent's did:key (subject). */
  agent: string
  /** The developer's DID. */
  developer: string
  codeHash: string
  /** The user's grant, verified (signature by `grant.user`, within its time window). */
  grant: SignedGrant
  validUntil: Date
  /** Where its status is published, and its bit. */
  status: { url: string; index: number }
}

/** The largest credential JWT accepted or issued; a passport with 256 payees and 64 tools is about 25 KiB. */
const maxJwtLength = 32 * 1024
const credentialsV2 = 'https://www.w3.org/ns/credentials/v2'
const passportContext = 'https://airlock.dev/ns/passport/v1'
const codeHashPattern = /^sha256:[0-9a-f]{64}$/
const didKeyPattern = /^did:key:z[1-9A-HJ-NP-Za-km-z]{1,100}$/

/**
 * Issues an agent passport: a W3C Verifiable Credential 2.0 secured as a JWT (VC-JOSE-COSE, `typ: vc+jwt`, the
 * payload *is* the credential) and signed with the issuer's Ed25519 key (EdDSA). The subject is the agent's did:key;
 * it carries the developer, the code hash and the user's signed grant, and two Bitstring Status List entries
 * (revocation, suspension) at the same index. Times are whole seconds; `validFrom`/`validUntil` equal `nbf`/`exp`.
 *
 * @example
 * const passport = await issuePassport({
 *   issuer: { did: issuerDid, key: issuerJwk },
 *   agent, developer, codeHash, grant: signed,
 *   status: { url: 'https://gateway.example/status', index: 42 },
 *   validFrom: new Date(), validUntil: new Date(signed.grant.expiry * 1000),
 * })
 * @throws {BaseError} INVALID_INPUT: the issuer key is not the did's, an id or URL is malformed, the window is
 * empty or outlives the grant
 * @throws {BaseError} FORBIDDEN: the grant names another agent or code hash
 * @throws {BaseError} UNAUTHORIZED (from verifyGrant): the grant is not signed by its user or not valid at
 * `validFrom`
 */
export async function issuePassport(parameters: IssuePassportParameters): Promise<string> {
  const { issuer, agent, developer, codeHash, status } = parameters
  const key = parseEd25519Jwk(issuer.key, { private: true })
  if (didKeyOf(key) !== issuer.did)
    throw invalid(
      'issuer.did',
      'The issuer did is not the did:key of the issuer key.',
      'Derive it with didKeyOf(key).',
    )
  if (typeof agent !== 'string' || !didKeyPattern.test(agent))
    throw invalid('agent', "The agent must be the agent's did:key (did:key:z6Mk…), without fragment.")
  publicKeyOfDidKey(agent)
  if (typeof developer !== 'string' || !/^did:(key|web):[^\s#?]{1,500}$/.test(developer))
    throw invalid('developer', 'The developer must be a did:key or did:web DID.')
  if (typeof codeHash !== 'string' || !codeHashPattern.test(codeHash))
    throw invalid('codeHash', 'The code hash must be sha256:<64 lowercase hex digits>.')
  const statusUrl = checkStatusUrl(status.url)
  if (!Number.isSafeInteger(status.index) || status.index < 0)
    throw invalid('status.index', 'The status index must be a non-negative integer.')
  const id = parameters.id ?? `urn:uuid:${randomUUID()}`
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(id))
    throw invalid('id', 'The credential id must be 1 to 200 printable ASCII characters (urn:uuid:…).')
  const nbf = seconds(parameters.validFrom, 'validFrom')
  const exp = seconds(parameters.validUntil, 'validUntil')
  if (exp <= nbf) throw invalid('validUntil', 'validUntil must be after validFrom.')

  const grant = await verifyGrant(parameters.grant, { now: new Date(nbf * 1000) })
  checkGrantBinding(grant.agent, agent, grant.codeHash, codeHash)
  if (exp > grant.expiry)
    throw invalid(
      'validUntil',
      'The passport would outlive its grant.',
      'Use the grant expiry as validUntil at most.',
    )

  const revocation = `${statusUrl}/revocation`
  const suspension = `${statusUrl}/suspension`
  const payload = {
    '@context': [credentialsV2, passportContext],
    id,
    type: ['VerifiableCredential', 'AgentPassport'],
    issuer: issuer.did,
    validFrom: isoSeconds(nbf),
    validUntil: isoSeconds(exp),
    credentialSubject: {
      id: agent,
      developer,
      codeHash,
      grant: { message: grant, signature: parameters.grant.signature },
    },
    credentialStatus: [
      statusEntry(revocation, 'revocation', status.index),
      statusEntry(suspension, 'suspension', status.index),
    ],
    iss: issuer.did,
    sub: agent,
    jti: id,
    iat: Math.floor(Date.now() / 1000),
    nbf,
    exp,
  }
  const jwt = await signVcJwt(payload, { did: issuer.did, key })
  if (jwt.length > maxJwtLength)
    throw invalid(
      'grant',
      `The passport would be larger than ${maxJwtLength} bytes.`,
      'List fewer payees or tools.',
    )
  return jwt
}

const StatusEntry = z.strictObject({
  id: z.string().max(2100),
  type: z.literal('BitstringStatusListEntry'),
  statusPurpose: z.enum(['revocation', 'suspension']),
  statusListIndex: z.string().regex(/^(0|[1-9]\d{0,14})$/),
  statusListCredential: z.string().max(2048),
})

const PassportPayload = z.strictObject({
  '@context': z.tuple([z.literal(credentialsV2), z.literal(passportContext)]),
  id: z.string().max(200),
  type: z.tuple([z.literal('VerifiableCredential'), z.literal('AgentPassport')]),
  issuer: z.string().max(512),
  validFrom: z.iso.datetime(),
  validUntil: z.iso.datetime(),
  credentialSubject: z.strictObject({
    id: z.string().regex(didKeyPattern),
    developer: z.string().max(512),
    codeHash: z.string().regex(codeHashPattern),
    grant: z.strictObject({ message: AgentGrantMessage, signature: z.string().max(200) }),
  }),
  credentialStatus: z.tuple([StatusEntry, StatusEntry]),
  iss: z.string(),
  sub: z.string(),
  jti: z.string(),
  iat: z.int(),
  nbf: z.int(),
  exp: z.int(),
})

/**
 * Verifies an agent passport: at most 32 KiB, `typ: vc+jwt`, `alg: EdDSA` only, issued by one of `issuers` and
 * signed by its key, inside its validity window (with clock tolerance), shaped as Airlock issues it, its subject
 * (`sub`) the agent the grant names, its code hash the grant's, and the grant itself valid ({@link verifyGrant}).
 * Revocation and suspension are not checked here: the caller looks the status up.
 *
 * @example
 * const passport = await verifyPassport(token, { issuers: [{ did: issuerDid, key: issuerPublicJwk }] })
 * passport.agent // 'did:key:z6Mk…'
 * @throws {BaseError} UNAUTHORIZED: too large, malformed, another alg or typ, an untrusted issuer, a bad signature,
 * outside its validity window, or a grant that is not valid now
 * @throws {BaseError} FORBIDDEN: the grant names another agent or another code hash than the passport
 */
export async function verifyPassport(jwt: string, options: VerifyPassportOptions): Promise<VerifiedPassport> {
  const { payload: raw, issuer } = await verifyVcJwt(jwt, {
    ...options,
    label: 'passport',
    requiredClaims: ['iss', 'sub', 'jti', 'iat', 'nbf', 'exp'],
  })
  const parsed = PassportPayload.safeParse(raw)
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.map(String).join('.') ?? ''
    throw unauthorized(`The passport's "${path.slice(0, 60)}" is not what an Airlock passport holds.`)
  }
  const p = parsed.data
  const subject = p.credentialSubject
  if (p.issuer !== issuer) throw unauthorized('The passport\'s "issuer" differs from its "iss".')
  if (p.jti !== p.id) throw unauthorized('The passport\'s "jti" differs from its "id".')
  if (p.sub !== subject.id) throw unauthorized('The passport\'s "sub" differs from its credentialSubject.id.')
  if (Date.parse(p.validFrom) !== p.nbf * 1000 || Date.parse(p.validUntil) !== p.exp * 1000)
    throw unauthorized('The passport\'s "validFrom"/"validUntil" differ from its "nbf"/"exp".')
  const status = statusOf(p.credentialStatus)
  checkGrantBinding(subject.grant.message.agent, subject.id, subject.grant.message.codeHash, subject.codeHash)
  const signed = { grant: subject.grant.message, signature: subject.grant.signature }
  const grant = await verifyGrant(signed, options.now ? { now: options.now } : {})
  return {
    id: p.id,
    issuer,
    agent: subject.id,
    developer: subject.developer,
    codeHash: subject.codeHash,
    grant: { grant, signature: signed.signature as SignedGrant['signature'] },
    validUntil: new Date(p.exp * 1000),
    status,
  }
}

/** Options of {@link verifyVcJwt}. */
export type VerifyVcJwtOptions = VerifyPassportOptions & {
  /** What the credential is, for messages: `passport`, `status list credential`. */
  label: string
  /** Claims that must be present (`exp` is optional for a status list). */
  requiredClaims: readonly string[]
  /** The largest token accepted, in characters. Default 32 KiB (a passport); status lists can be larger. */
  maxLength?: number | undefined
}

/**
 * Signs a credential as a VC-JOSE-COSE JWT: header `{ alg: 'EdDSA', typ: 'vc+jwt', kid: '<did>#<multibase>' }`, the
 * credential as the payload. The shared signing step of passports and status list credentials.
 *
 * @example const jwt = await signVcJwt({ '@context': [...], iss: issuer.did, … }, issuer)
 * @throws {BaseError} INVALID_INPUT: the key is not an Ed25519 private JWK
 */
export async function signVcJwt(payload: JWTPayload, issuer: CredentialIssuer): Promise<string> {
  const key = parseEd25519Jwk(issuer.key, { private: true })
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'vc+jwt', kid: `${issuer.did}#${issuer.did.slice(8)}` })
    .sign(await importJWK(key, 'EdDSA'))
}

/**
 * Verifies a VC-JOSE-COSE JWT's envelope: size (32 KiB unless `maxLength`), `typ: vc+jwt`, `alg: EdDSA` only, `iss` among the trusted
 * issuers, signature, `nbf`/`exp` with clock tolerance, required claims. The payload's shape is the caller's to
 * check. Messages never quote the token beyond short ids.
 *
 * @example const { payload, issuer } = await verifyVcJwt(jwt, { issuers, label: 'passport', requiredClaims: ['iss'] })
 * @throws {BaseError} UNAUTHORIZED: any of these checks failed; the message says which
 */
export async function verifyVcJwt(
  jwt: string,
  options: VerifyVcJwtOptions,
): Promise<{ payload: JWTPayload; issuer: string }> {
  const { label } = options
  const tolerance = options.clockToleranceSeconds ?? 60
  if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 3600)
    throw new BaseError('INVALID_INPUT', 'clockToleranceSeconds must be an integer from 0 to 3600.', {
      field: 'clockToleranceSeconds',
    })
  const maxLength = options.maxLength ?? maxJwtLength
  if (typeof jwt !== 'string' || jwt.length > maxLength)
    throw unauthorized(`The ${label} is not a JWT of at most ${maxLength} bytes.`)
  let header: ReturnType<typeof decodeProtectedHeader>
  let claims: JWTPayload
  try {
    header = decodeProtectedHeader(jwt)
    claims = decodeJwt(jwt)
  } catch {
    throw unauthorized(`The ${label} is not a well-formed JWT.`)
  }
  // Checked before any key is touched: `none` and HMAC (keyed with a public key) are the classic forgeries.
  if (header.alg !== 'EdDSA')
    throw unauthorized(
      `The ${label} is signed with "${String(header.alg).slice(0, 20)}"; only EdDSA is accepted.`,
    )
  if (header.typ !== 'vc+jwt') throw unauthorized(`The ${label} is not typed "vc+jwt".`)
  const iss = typeof claims.iss === 'string' ? claims.iss : ''
  const candidates = options.issuers.filter((i) => i.did === iss)
  if (candidates.length === 0)
    throw unauthorized(
      `The ${label} is issued by an issuer this gateway does not trust (${iss.slice(0, 80) || 'none'}).`,
    )
  for (const candidate of candidates) {
    try {
      const { payload } = await jwtVerify(jwt, await publicKey(candidate.key), {
        algorithms: ['EdDSA'],
        typ: 'vc+jwt',
        issuer: iss,
        requiredClaims: [...options.requiredClaims],
        clockTolerance: tolerance,
        ...(options.now ? { currentDate: options.now } : {}),
      })
      return { payload, issuer: iss }
    } catch (error) {
      // jose checks the signature first: any other failure means this key did sign it, and is final.
      if ((error as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') continue
      throw claimFailure(error, label)
    }
  }
  throw unauthorized(`The ${label}'s signature does not verify with the key of its issuer.`)
}

/** Imported public keys, per JWK object: verifying a passport per request should not re-import the same key. */
type ImportedKey = Awaited<ReturnType<typeof importJWK>>
const importedKeys = new WeakMap<Ed25519Jwk, ImportedKey>()

async function publicKey(jwk: Ed25519Jwk): Promise<ImportedKey> {
  const cached = importedKeys.get(jwk)
  if (cached) return cached
  const { kty, crv, x } = parseEd25519Jwk(jwk)
  const key = await importJWK({ kty, crv, x }, 'EdDSA')
  importedKeys.set(jwk, key)
  return key
}

function claimFailure(error: unknown, label: string): BaseError {
  const { code, claim } = error as { code?: string; claim?: string }
  if (code === 'ERR_JWT_EXPIRED')
    return unauthorized(`The ${label} has expired.`, error, [`Ask the issuer for a new ${label}.`])
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    if (claim === 'nbf') return unauthorized(`The ${label} is not valid yet.`, error, ['Check the clocks.'])
    return unauthorized(`The ${label}'s "${String(claim).slice(0, 20)}" claim is missing or invalid.`, error)
  }
  return unauthorized(`The ${label} is malformed.`, error)
}

/** The status list URL and index both entries share; anything else was not issued by Airlock. */
function statusOf(entries: readonly z.infer<typeof StatusEntry>[]): { url: string; index: number } {
  const [revocation] = entries
  const url = revocation?.statusListCredential.replace(/\/revocation$/, '') ?? ''
  const index = Number(revocation?.statusListIndex)
  const expected = [
    statusEntry(`${url}/revocation`, 'revocation', index),
    statusEntry(`${url}/suspension`, 'suspension', index),
  ]
  const same = expected.every((e, i) => {
    const entry = entries[i]
    return (
      entry !== undefined &&
      entry.id === e.id &&
      entry.statusPurpose === e.statusPurpose &&
      entry.statusListIndex === e.statusListIndex &&
      entry.statusListCredential === e.statusListCredential
    )
  })
  if (!same || !url)
    throw unauthorized(
      "The passport's credentialStatus entries are not a revocation and a suspension entry of one list index.",
    )
  return { url, index }
}

function statusEntry(listUrl: string, purpose: 'revocation' | 'suspension', index: number) {
  return {
    id: `${listUrl}#${index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: purpose,
    statusListIndex: String(index),
    statusListCredential: listUrl,
  }
}

/** Grant and passport must be about the same agent key and the same code. */
function checkGrantBinding(grantAgent: string, agent: string, grantCodeHash: string, codeHash: string): void {
  if (grantAgent !== agent)
    throw new BaseError('FORBIDDEN', 'The grant names another agent key than the passport subject.', {
      metaMessages: ["The user signs a grant for this agent's did:key."],
    })
  if (grantCodeHash !== codeHash)
    throw new BaseError('FORBIDDEN', 'The grant names another code hash than the passport.', {
      metaMessages: ["Hash the agent's build and have the user sign a grant for that hash."],
    })
}

function checkStatusUrl(value: string): string {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {}
  if (
    !url ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.search ||
    url.hash ||
    url.username ||
    value.endsWith('/') ||
    value.length > 2000
  )
    throw invalid(
      'status.url',
      'The status URL must be an http(s) URL without query, fragment or trailing slash.',
    )
  return value
}

function seconds(date: Date, field: string): number {
  const t = date instanceof Date ? date.getTime() : Number.NaN
  if (!Number.isFinite(t) || t < 0) throw invalid(field, `${field} must be a valid date.`)
  return Math.floor(t / 1000)
}

function isoSeconds(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z')
}

function invalid(field: string, message: string, hint?: string): BaseError {
  return new BaseError('INVALID_INPUT', message, { field, ...(hint ? { metaMessages: [hint] } : {}) })
}

function unauthorized(message: string, cause?: unknown, hints?: readonly string[]): BaseError {
  return new BaseError('UNAUTHORIZED', message, {
    ...(hints ? { metaMessages: hints } : {}),
    ...(cause === undefined ? {} : { cause }),
  })
}
