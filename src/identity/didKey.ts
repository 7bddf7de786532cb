import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { BaseError } from '../errors/index.js'

/** An Ed25519 key as a JWK (RFC 8037). `d` is present only on a private key. */
export type Ed25519Jwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; d?: string; kid?: string }

/** The multicodec prefix of an Ed25519 public key (0xed, varint-encoded as 0xed 0x01). */
const ed25519Codec = Uint8Array.of(0xed, 0x01)
const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/**
 * The did:key of an Ed25519 public key: `did:key:z` + base58btc(0xed01 ‖ key). The same string is the key's id in
 * passports, grants, tokens and request signatures (`keyid`).
 *
 * @example didKeyOf(publicKeyJwk) // 'did:key:z6Mk…'
 * @throws {BaseError} INVALID_INPUT: not an Ed25519 public key
 */
export function didKeyOf(key: Ed25519Jwk | KeyObject): string {
  const raw = rawPublicKey(key)
  const bytes = new Uint8Array(ed25519Codec.length + raw.length)
  bytes.set(ed25519Codec)
  bytes.set(raw, ed25519Codec.length)
  return `did:key:z${base58(bytes)}`
}

/**
 * The Ed25519 public key a did:key names (a fragment, `did:key:z…#z…`, is ignored).
 *
 * @example publicKeyOfDidKey('did:key:z6Mk…') // { kty: 'OKP', crv: 'Ed25519', x: '…' }
 * @throws {BaseError} INVALID_INPUT: not a did:key of an Ed25519 key
 */
export function publicKeyOfDidKey(did: string): Ed25519Jwk {
  const id = did.split('#')[0] ?? ''
  const bad = () =>
    new BaseError('INVALID_INPUT', `"${id.slice(0, 80)}" is not a did:key of an Ed25519 key.`, {
      metaMessages: [
        'An agent or developer key is `did:key:z6Mk…` (Ed25519), as `airlock passport key` prints.',
      ],
    })
  if (!id.startsWith('did:key:z') || id.length > 120) throw bad()
  let bytes: Uint8Array
  try {
    bytes = unbase58(id.slice('did:key:z'.length))
  } catch {
    throw bad()
  }
  if (bytes.length !== 34 || bytes[0] !== ed25519Codec[0] || bytes[1] !== ed25519Codec[1]) throw bad()
  return { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(bytes.subarray(2)).toString('base64url') }
}

/**
 * A new Ed25519 key pair as a private JWK (with `x` and `d`) and its did:key.
 *
 * @example const { jwk, did } = generateEd25519Key()
 */
export function generateEd25519Key(): { jwk: Ed25519Jwk; did: string } {
  const { privateKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' }) as Ed25519Jwk
  return { jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d! }, did: didKeyOf(jwk) }
}

/**
 * The Ed25519 private key whose 32-byte seed is `seed` (deterministic: every replica holding the same seed holds
 * the same key), as a private JWK.
 *
 * @example const issuer = ed25519KeyFromSeed(await operator.secret('passport.issuer'))
 */
export function ed25519KeyFromSeed(seed: Uint8Array): Ed25519Jwk {
  if (seed.length !== 32) throw new Error('An Ed25519 seed is 32 bytes.')
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix, then the seed.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  const jwk = key.export({ format: 'jwk' }) as Ed25519Jwk
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d! }
}

/**
 * Reads a private or public Ed25519 JWK (as JSON text or an object), checking its shape.
 *
 * @example const key = parseEd25519Jwk(readFileSync('agent.jwk', 'utf8'))
 * @throws {BaseError} INVALID_INPUT: not JSON, or not an Ed25519 JWK
 */
export function parseEd25519Jwk(value: unknown, options: { private?: boolean } = {}): Ed25519Jwk {
  let v = value
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch {
      v = undefined
    }
  }
  const o = v as Partial<Ed25519Jwk> | undefined
  const b64 = (s: unknown) => typeof s === 'string' && /^[A-Za-z0-9_-]{43}$/.test(s)
  if (o?.kty !== 'OKP' || o.crv !== 'Ed25519' || !b64(o.x) || (options.private && !b64(o.d)))
    throw new BaseError(
      'INVALID_INPUT',
      `The key is not an Ed25519 ${options.private ? 'private ' : ''}JWK ({"kty":"OKP","crv":"Ed25519","x":…${options.private ? ',"d":…' : ''}}).`,
      { metaMessages: ['Create one with `airlock passport key --out FILE`.'] },
    )
  return { kty: 'OKP', crv: 'Ed25519', x: o.x!, ...(options.private ? { d: o.d! } : {}) }
}

function rawPublicKey(key: Ed25519Jwk | KeyObject): Uint8Array {
  const object = key as KeyObject
  const jwk = (
    'kty' in key
      ? key
      : (object.type === 'public' ? object : createPublicKey(object)).export({ format: 'jwk' })
  ) as Partial<Ed25519Jwk>
  const raw = typeof jwk.x === 'string' ? Buffer.from(jwk.x, 'base64url') : Buffer.alloc(0)
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || raw.length !== 32)
    throw new BaseError('INVALID_INPUT', 'The key is not an Ed25519 public key.')
  return new Uint8Array(raw)
}

function base58(bytes: Uint8Array): string {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  let out = ''
  while (n > 0n) {
    out = alphabet[Number(n % 58n)]! + out
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    out = `1${out}`
  }
  return out
}

function unbase58(text: string): Uint8Array {
  if (text.length === 0 || text.length > 100) throw new Error('length')
  let n = 0n
  for (const ch of text) {
    const i = alphabet.indexOf(ch)
    if (i < 0) throw new Error('character')
    n = n * 58n + BigInt(i)
  }
  const bytes: number[] = []
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn))
    n >>= 8n
  }
  for (const ch of text) {
    if (ch !== '1') break
    bytes.unshift(0)
  }
  return Uint8Array.from(bytes)
}
