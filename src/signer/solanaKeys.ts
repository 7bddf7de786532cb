import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { getBase58Decoder, getBase58Encoder } from '@solana/kit'
import { InvalidInputError } from '../errors/index.js'
import { solanaAddressProblem } from '../schemas/solanaAddress.js'

// ed25519 keys on Node's own crypto. A Solana "secret key" is the 32-byte RFC 8032 seed; wallets (Phantom,
// solana-keygen) export it as the 64-byte keypair seed ‖ public key, in base58 or as a JSON array of numbers.
// Internal to src/signer: `solanaKeyFromText` returns key material, which must not leave this module's folder.

/** DER prefix of a PKCS#8 ed25519 private key (RFC 8410): SEQUENCE { version 0, id-Ed25519, OCTET STRING { OCTET STRING (32) } }. */
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
/** DER prefix of an SPKI ed25519 public key: what precedes the 32 key bytes in `export({ type: 'spki' })`. */
const spkiPrefixLength = 12

const base58Alphabet = /^[1-9A-HJ-NP-Za-km-z]+$/
const evmKeyPattern = /^(0x)?[0-9a-fA-F]{64}$/

const privateKeyHints = [
  'A Solana key is the base58 string Phantom or `solana-keygen` exports (64-byte keypair, or a 32-byte seed), or',
  "the JSON array of 64 numbers in solana-keygen's id.json. The input was not repeated here.",
]

/**
 * The ed25519 private key of a 32-byte seed, as a Node `KeyObject` (its bytes are not enumerable and
 * `util.inspect` does not show them). The DER buffer built on the way is wiped.
 *
 * @example sign(null, messageBytes, solanaKeyObject(seed))
 * @throws {InvalidInputError} the seed is not 32 bytes
 */
export function solanaKeyObject(seed: Uint8Array): KeyObject {
  checkSeed(seed)
  const der = Buffer.concat([pkcs8Prefix, seed])
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

/**
 * The 32-byte ed25519 public key of a private `KeyObject` (from {@link solanaKeyObject}).
 *
 * @example solanaPublicKey(solanaKeyObject(seed)) // Uint8Array(32)
 */
export function solanaPublicKey(key: KeyObject): Uint8Array {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(spkiPrefixLength))
}

/**
 * The Solana address of a 32-byte ed25519 seed: the base58 of its public key.
 *
 * @example solanaAddressOfSeed(new Uint8Array(32).fill(1)) // '…' (base58, 32–44 characters)
 * @throws {InvalidInputError} the seed is not 32 bytes
 */
export function solanaAddressOfSeed(seed: Uint8Array): string {
  return base58(solanaPublicKey(solanaKeyObject(seed)))
}

/**
 * Whether `text` is a Solana address: base58 (32–44 characters) of exactly 32 bytes. Says nothing about whether
 * the point is on the curve (program-derived addresses are not).
 *
 * @example isSolanaAddress('11111111111111111111111111111111') // true (the system program)
 */
export function isSolanaAddress(text: string): boolean {
  // The one address check the tools and the policy use (base58, decoding to 32 bytes).
  return typeof text === 'string' && solanaAddressProblem(text) === undefined
}

/** Base58 of bytes (a public key, a signature). */
export function base58(bytes: Uint8Array): string {
  return getBase58Decoder().decode(bytes)
}

/**
 * Reads a Solana private key typed, piped or read from a file, and returns its 32-byte seed. Accepted, surrounding
 * whitespace ignored: base58 of the 64-byte keypair (seed ‖ public key, as Phantom and `solana-keygen` export it),
 * base58 of the 32-byte seed, or solana-keygen's JSON array of 64 numbers (32 numbers: a seed). In a 64-byte form
 * the public half must be the key of the seed. Errors say what is wrong and never repeat the input.
 *
 * Internal to `src/signer`: the seed it returns must not leave that module; the caller wipes it after use.
 *
 * @example solanaKeyFromText(readFileSync('id.json', 'utf8')) // Uint8Array(32)
 * @throws {InvalidInputError} not base58, not a JSON array of bytes, wrong length, an EVM hex key, or a keypair
 *   whose public half does not match its seed
 */
export function solanaKeyFromText(text: string): Uint8Array {
  const body = typeof text === 'string' ? text.trim() : ''
  let bytes: Uint8Array
  if (body.startsWith('[')) bytes = bytesOfJsonArray(body)
  else if (body.startsWith('{'))
    throw invalid('This is a JSON object, not a Solana key.', [
      "A Solana key file is solana-keygen's id.json: a JSON array of 64 numbers. A v3 keystore (geth, MetaMask)",
      'holds an EVM key: import it without --family solana.',
    ])
  else if (evmKeyPattern.test(body))
    throw invalid('This looks like an EVM private key (64 hex digits), not a Solana key.', [
      'To import it as an EVM wallet, leave out --family solana.',
      ...privateKeyHints,
    ])
  else if (body === '') throw invalid('The Solana private key is empty.', privateKeyHints)
  else if (!base58Alphabet.test(body))
    throw invalid(
      'The Solana private key is not base58: it holds characters outside the base58 alphabet (0, O, I, l, spaces, punctuation).',
      ['Check that the whole key was given, on one line.', ...privateKeyHints],
    )
  else if (body.length > 100)
    throw invalid(`The Solana private key is ${body.length} base58 characters; a keypair is about 88.`, [
      ...privateKeyHints,
    ])
  else bytes = getBase58Encoder().encode(body) as Uint8Array // a fresh array, wiped below
  try {
    return seedOfBytes(bytes)
  } finally {
    bytes.fill(0)
  }
}

/**
 * The seed of a 32-byte seed or a 64-byte keypair (a copy; the input is left as it was). The public half of a
 * keypair must be the key of its seed.
 *
 * @example seedOfBytes(keypairBytes) // Uint8Array(32)
 * @throws {InvalidInputError} another length, or a public half that does not match
 */
export function seedOfBytes(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array) || (bytes.length !== 32 && bytes.length !== 64))
    throw invalid(
      `The Solana private key is ${bytes instanceof Uint8Array ? bytes.length : 'not'} bytes; it must be 64 (keypair: seed and public key) or 32 (seed).`,
      ['Check that the whole key was given.', ...privateKeyHints],
    )
  const seed = bytes.slice(0, 32)
  if (bytes.length === 64) {
    const derived = solanaPublicKey(solanaKeyObject(seed))
    if (!Buffer.from(derived).equals(Buffer.from(bytes.buffer, bytes.byteOffset + 32, 32))) {
      seed.fill(0)
      throw invalid(
        'The second half of this 64-byte Solana keypair is not the public key of its first half (the seed).',
        [
          'The key is corrupted, or is not a Solana ed25519 keypair. Export it again from the wallet (Phantom:',
          '"Show private key"; solana-keygen: the id.json file). The input was not repeated here.',
        ],
      )
    }
  }
  return seed
}

function bytesOfJsonArray(body: string): Uint8Array {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    // JSON.parse quotes its input in the message; the input is a secret, so nothing of it is said.
    throw invalid('The Solana key file is not valid JSON.', [
      "Give solana-keygen's id.json as it was written: [n, n, …] with 64 numbers from 0 to 255.",
    ])
  }
  if (!Array.isArray(value) || (value.length !== 64 && value.length !== 32))
    throw invalid(
      `The JSON array holds ${Array.isArray(value) ? value.length : 'no'} numbers; a Solana keypair is 64 (a seed 32).`,
      ["Give solana-keygen's id.json as it was written: [n, n, …] with 64 numbers from 0 to 255."],
    )
  const bytes = new Uint8Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const n = value[i]
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 255) {
      bytes.fill(0)
      throw invalid(`Element ${i} of the JSON array is not a byte (an integer from 0 to 255).`, [
        "A Solana key file is solana-keygen's id.json: 64 numbers from 0 to 255. The value was not repeated here.",
      ])
    }
    bytes[i] = n
  }
  return bytes
}

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw invalid('An ed25519 seed is 32 bytes.', [])
}

function invalid(message: string, metaMessages: readonly string[]): InvalidInputError {
  return new InvalidInputError(message, { field: 'privateKey', metaMessages })
}
