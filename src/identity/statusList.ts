import { gunzipSync, gzipSync } from 'node:zlib'
import { z } from 'zod'
import { BaseError } from '../errors/index.js'
import { type CredentialIssuer, signVcJwt, verifyVcJwt } from './credential.js'

/**
 * Entries in a status list: 131,072 bits, the 16 KiB minimum of Bitstring Status List v1.0, so that one
 * passport's bit hides among many (group privacy).
 */
export const statusListLength = 131_072

/** What a status list's bits mean: set = revoked (final) or suspended (reversible). */
export type StatusPurpose = 'revocation' | 'suspension'

/** Parameters of {@link issueStatusListCredential}. */
export type IssueStatusListCredentialParameters = {
  /** The gateway's issuer key; `did` is the did:key of `key` (private). */
  issuer: CredentialIssuer
  /**
   * The credential's own URL, where it is served: a passport's `statusListCredential`, i.e. `${status.url}/revocation`
   * or `${status.url}/suspension`.
   */
  url: string
  purpose: StatusPurpose
  /** The indexes whose bit is set. */
  set: Iterable<number>
  /** Default: now. */
  validFrom?: Date | undefined
  /** Until when verifiers may use it without fetching it again. Default: no end. */
  validUntil?: Date | undefined
  /** Bits in the list, a multiple of 8, at least {@link statusListLength}. */
  length?: number | undefined
}

/** Options of {@link readStatusListCredential}. */
export type ReadStatusListCredentialOptions = {
  /** The issuers this gateway trusts. */
  issuers: readonly CredentialIssuer[]
  /** When given, the credential's `id` must be this URL (the passport's `statusListCredential`). */
  url?: string | undefined
  /** Default: now. */
  now?: Date | undefined
  /** Allowed clock skew. Default 60 s. */
  clockToleranceSeconds?: number | undefined
}

/** A verified status list: its URL, purpose and bits. */
export type StatusList = { url: string; purpose: StatusPurpose; bits: Uint8Array }

/** The largest decompressed list read: 16 MiB, 134 million entries; a gzip bomb stops there. */
const maxListBytes = 16 * 1024 * 1024
/** The largest status list credential read (a list of random bits barely compresses). */
const maxCredentialLength = 8 * 1024 * 1024

/**
 * Encodes a status list: a bitstring of `length` bits where index 0 is the most significant bit of the first byte,
 * GZIP-compressed, as multibase base64url (`u` prefix, no padding) — the `encodedList` of Bitstring Status List v1.0.
 *
 * @example encodeStatusList([3, 42]) // 'uH4sIAAAAAAAA…'
 * @throws {BaseError} INVALID_INPUT: `length` is not a multiple of 8 from 131,072 up, or an index is outside it
 */
export function encodeStatusList(set: Iterable<number>, length: number = statusListLength): string {
  if (!Number.isInteger(length) || length % 8 !== 0 || length < statusListLength || length > maxListBytes * 8)
    throw new BaseError(
      'INVALID_INPUT',
      `A status list has a multiple of 8 entries, from ${statusListLength} to ${maxListBytes * 8}.`,
      { field: 'length' },
    )
  const bits = new Uint8Array(length / 8)
  for (const index of set) {
    if (!Number.isInteger(index) || index < 0 || index >= length)
      throw new BaseError(
        'INVALID_INPUT',
        `Status list index ${String(index).slice(0, 20)} is outside 0…${length - 1}.`,
        {
          field: 'set',
        },
      )
    bits[index >> 3]! |= 0x80 >> (index & 7)
  }
  return `u${gzipSync(bits).toString('base64url')}`
}

/**
 * Decodes an `encodedList` into its bitstring, refusing more than 16 MiB decompressed and fewer than the 16 KiB
 * minimum.
 *
 * @example statusAt(decodeStatusList(credentialSubject.encodedList), 42)
 * @throws {BaseError} INVALID_INPUT: not multibase base64url, not GZIP, too large or too small
 */
export function decodeStatusList(encoded: string): Uint8Array {
  const invalid = (reason: string, cause?: unknown) =>
    new BaseError('INVALID_INPUT', `The encoded status list ${reason}.`, cause === undefined ? {} : { cause })
  if (typeof encoded !== 'string' || !/^u[A-Za-z0-9_-]+$/.test(encoded))
    throw invalid('is not multibase base64url (u…)')
  if (encoded.length > maxCredentialLength) throw invalid('is too long')
  let bits: Buffer
  try {
    bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'), { maxOutputLength: maxListBytes })
  } catch (error) {
    const code = (error as { code?: string }).code
    throw invalid(
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `decompresses to more than ${maxListBytes} bytes`
        : 'is not GZIP data',
      error,
    )
  }
  if (bits.length < statusListLength / 8)
    throw invalid(`has fewer than ${statusListLength} entries (the Bitstring Status List minimum)`)
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength)
}

/**
 * Whether the bit at `index` is set (index 0 is the most significant bit of the first byte).
 *
 * @example statusAt(bits, passport.status.index) // true: revoked
 * @throws {BaseError} INVALID_INPUT: the index is outside the list (the spec's RANGE_ERROR)
 */
export function statusAt(bits: Uint8Array, index: number): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8)
    throw new BaseError(
      'INVALID_INPUT',
      `Status list index ${String(index).slice(0, 20)} is outside the list.`,
      {
        field: 'index',
      },
    )
  return (bits[index >> 3]! & (0x80 >> (index & 7))) !== 0
}

/**
 * Issues a Bitstring Status List credential as a vc+jwt (EdDSA): `id` is `url`, the subject
 * `{ id: url#list, type: 'BitstringStatusList', statusPurpose, encodedList }`.
 *
 * @example
 * const jwt = await issueStatusListCredential({
 *   issuer, url: 'https://gateway.example/status/revocation', purpose: 'revocation', set: [7],
 * })
 * @throws {BaseError} INVALID_INPUT: see {@link encodeStatusList}; the URL is not http(s) or has a fragment; the key
 * is not an Ed25519 private JWK
 */
export async function issueStatusListCredential(
  parameters: IssueStatusListCredentialParameters,
): Promise<string> {
  const { issuer, url, purpose } = parameters
  if (!isCredentialUrl(url))
    throw new BaseError('INVALID_INPUT', 'The status list URL must be an http(s) URL without fragment.', {
      field: 'url',
    })
  if (purpose !== 'revocation' && purpose !== 'suspension')
    throw new BaseError('INVALID_INPUT', 'A status list purpose is "revocation" or "suspension".', {
      field: 'purpose',
    })
  const encodedList = encodeStatusList(parameters.set, parameters.length ?? statusListLength)
  const nbf = Math.floor((parameters.validFrom ?? new Date()).getTime() / 1000)
  const exp = parameters.validUntil ? Math.floor(parameters.validUntil.getTime() / 1000) : undefined
  if (!Number.isFinite(nbf) || (exp !== undefined && !(exp > nbf)))
    throw new BaseError('INVALID_INPUT', 'validUntil must be a valid date after validFrom.', {
      field: 'validUntil',
    })
  return signVcJwt(
    {
      '@context': [credentialsV2],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: issuer.did,
      validFrom: isoSeconds(nbf),
      ...(exp === undefined ? {} : { validUntil: isoSeconds(exp) }),
      credentialSubject: {
        id: `${url}#list`,
        type: 'BitstringStatusList',
        statusPurpose: purpose,
        encodedList,
      },
      iss: issuer.did,
      sub: `${url}#list`,
      iat: Math.floor(Date.now() / 1000),
      nbf,
      ...(exp === undefined ? {} : { exp }),
    },
    issuer,
  )
}

const credentialsV2 = 'https://www.w3.org/ns/credentials/v2'

const StatusListPayload = z.strictObject({
  '@context': z.tuple([z.literal(credentialsV2)]),
  id: z.string().max(2048),
  type: z.tuple([z.literal('VerifiableCredential'), z.literal('BitstringStatusListCredential')]),
  issuer: z.string().max(512),
  validFrom: z.iso.datetime(),
  validUntil: z.iso.datetime().optional(),
  credentialSubject: z.strictObject({
    id: z.string().max(2100),
    type: z.literal('BitstringStatusList'),
    statusPurpose: z.enum(['revocation', 'suspension']),
    encodedList: z.string(),
  }),
  iss: z.string(),
  sub: z.string(),
  iat: z.int(),
  nbf: z.int(),
  exp: z.int().optional(),
})

/**
 * Verifies a status list credential (trusted issuer, EdDSA, vc+jwt, validity window, shape) and decodes its list.
 * Compare `url` with the passport's `statusListCredential` (or pass it as `options.url`), then read the bit with
 * {@link statusAt}.
 *
 * @example
 * const { bits } = await readStatusListCredential(jwt, { issuers, url: `${passport.status.url}/revocation` })
 * const revoked = statusAt(bits, passport.status.index)
 * @throws {BaseError} UNAUTHORIZED: the credential does not verify, is not a status list, or is for another URL
 * @throws {BaseError} INVALID_INPUT: see {@link decodeStatusList}
 */
export async function readStatusListCredential(
  jwt: string,
  options: ReadStatusListCredentialOptions,
): Promise<StatusList> {
  const { payload, issuer } = await verifyVcJwt(jwt, {
    issuers: options.issuers,
    now: options.now,
    clockToleranceSeconds: options.clockToleranceSeconds,
    label: 'status list credential',
    requiredClaims: ['iss', 'iat', 'nbf'],
    maxLength: maxCredentialLength,
  })
  const refused = (message: string) => new BaseError('UNAUTHORIZED', message)
  const parsed = StatusListPayload.safeParse(payload)
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.map(String).join('.') ?? ''
    throw refused(
      `The status list credential's "${path.slice(0, 60)}" is not what a Bitstring Status List holds.`,
    )
  }
  const p = parsed.data
  if (p.issuer !== issuer) throw refused('The status list credential\'s "issuer" differs from its "iss".')
  if (p.credentialSubject.id !== `${p.id}#list` || p.sub !== p.credentialSubject.id)
    throw refused("The status list credential's subject is not its own list.")
  if (
    Date.parse(p.validFrom) !== p.nbf * 1000 ||
    (p.validUntil === undefined ? p.exp !== undefined : Date.parse(p.validUntil) !== (p.exp ?? 0) * 1000)
  )
    throw refused('The status list credential\'s "validFrom"/"validUntil" differ from its "nbf"/"exp".')
  if (options.url !== undefined && p.id !== options.url)
    throw refused('The status list credential is for another list than the one asked for.')
  return {
    url: p.id,
    purpose: p.credentialSubject.statusPurpose,
    bits: decodeStatusList(p.credentialSubject.encodedList),
  }
}

function isCredentialUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      !url.hash &&
      !url.username &&
      value.length <= 2000
    )
  } catch {
    return false
  }
}

function isoSeconds(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z')
}
