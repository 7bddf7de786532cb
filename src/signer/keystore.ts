import {
  createCipheriv,
  createDecipheriv,
  pbkdf2,
  randomBytes,
  randomUUID,
  scrypt,
  timingSafeEqual,
} from 'node:crypto'
import { type Hex, keccak256 } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { KeystoreInvalidError, WalletLockedError } from '../errors/index.js'
import { addressOfKey } from './nativeKeys.js'

// Web3 Secret Storage v3 (https://ethereum.org/developers/docs/data-structures-and-encoding/web3-secret-storage/):
// derivedKey = KDF(password, salt); ciphertext = AES-128-CTR(derivedKey[0..16], iv, privateKey);
// mac = keccak256(derivedKey[16..32] ++ ciphertext). Passwords are taken as raw UTF-8 bytes, as geth does.

/** scrypt parameters as stored in a v3 file. */
export type ScryptKdfParams = { dklen: 32; n: number; r: number; p: number; salt: string }
/** PBKDF2 parameters as stored in a v3 file (read only: Airlock writes scrypt). */
export type Pbkdf2KdfParams = { dklen: 32; c: number; prf: 'hmac-sha256'; salt: string }

/** A Web3 Secret Storage v3 document, as geth, MetaMask and ethers write it. Hex fields carry no `0x`. */
export type KeystoreV3 = {
  version: 3
  /** Random UUID; carries no information about the key. */
  id: string
  /** Lowercase address without `0x` (geth's convention). Not covered by the MAC: checked against the key. */
  address?: string
  crypto: {
    cipher: 'aes-128-ctr'
    cipherparams: { iv: string }
    ciphertext: string
    kdf: 'scrypt' | 'pbkdf2'
    kdfparams: ScryptKdfParams | Pbkdf2KdfParams
    mac: string
  }
}

/** Options of {@link encryptKey}. */
export type EncryptKeyOptions = {
  /** scrypt CPU/memory cost, a power of two. Default 2^17 (128 MiB with r = 8). Lower it only in tests. */
  n?: number | undefined
  /** scrypt block size. Default 8. */
  r?: number | undefined
  /** scrypt parallelism. Default 1. */
  p?: number | undefined
  /** 32 random bytes by default. Give one only to reproduce a known vector. */
  salt?: Uint8Array | undefined
  /** 16 random bytes by default. Give one only to reproduce a known vector. */
  iv?: Uint8Array | undefined
  /** A random UUID by default. */
  id?: string | undefined
}

/** Default scrypt cost for new keystores (ethers' and MetaMask's choice; geth's "standard" is 2^18). */
export const defaultScryptN = 2 ** 17

// Upper bounds on what a file may ask of us when it is read: above them a crafted file could pin the CPU or
// exhaust memory before the password is even checked. geth's standard (n = 2^18, r = 8, p = 1) and the spec's
// test vector (n = 2^18, r = 1, p = 8) both sit exactly at the cost limit.
const limits = {
  scryptMaxN: 2 ** 18,
  scryptMaxMemoryBlocks: 2 ** 21, // n * r, 128 bytes each: 256 MiB
  scryptMaxCost: 2 ** 21, // n * r * p
  scryptMaxR: 32,
  scryptMaxP: 16,
  pbkdf2MaxC: 2 ** 21,
  saltMinBytes: 8,
  saltMaxBytes: 128,
  maxJsonChars: 64 * 1024,
}

const secp256k1N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/**
 * Encrypts a private key into a Web3 Secret Storage v3 document (aes-128-ctr, scrypt). The password is used as
 * its UTF-8 bytes, so geth, MetaMask and ethers open the result with the same password.
 *
 * @example
 * const json = await encryptKey(generatePrivateKey(), 'correct horse battery staple')
 * writeFileSync('key.json', JSON.stringify(json), { mode: 0o600 })
 * @throws {KeystoreInvalidError} the key is not a 32-byte secp256k1 private key, or the scrypt options are out of range
 * @throws {WalletLockedError} the password is empty
 */
export async function encryptKey(
  privateKey: Hex,
  password: string,
  options: EncryptKeyOptions = {},
): Promise<KeystoreV3> {
  const key = privateKeyBytes(privateKey)
  if (password.length === 0)
    throw new WalletLockedError({
      reason: 'an empty password cannot protect a key',
      metaMessages: ['Choose a password (AIRLOCK_WALLET_PASSWORD or the prompt).'],
    })
  const params = {
    n: options.n ?? defaultScryptN,
    r: options.r ?? 8,
    p: options.p ?? 1,
  }
  const salt = Buffer.from(options.salt ?? randomBytes(32))
  checkScrypt(params, salt)
  const iv = Buffer.from(options.iv ?? randomBytes(16))
  if (iv.length !== 16) throw new KeystoreInvalidError({ reason: 'the iv must be 16 bytes' })
  const derived = await deriveScrypt(password, salt, params)
  try {
    const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
    const ciphertext = Buffer.concat([cipher.update(key), cipher.final()])
    return {
      version: 3,
      id: options.id ?? randomUUID(),
      address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: iv.toString('hex') },
        ciphertext: ciphertext.toString('hex'),
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: params.n, r: params.r, p: params.p, salt: salt.toString('hex') },
        mac: mac(derived, ciphertext).toString('hex'),
      },
    }
  } finally {
    derived.fill(0)
    key.fill(0)
  }
}

/**
 * Opens a Web3 Secret Storage v3 document (object or JSON text) and returns the private key. Reads scrypt and
 * PBKDF2 (hmac-sha256) files with the aes-128-ctr cipher, as geth, MetaMask and ethers write them. KDF parameters
 * are bounded before any work is done, and the MAC is compared in constant time.
 *
 * Internal to `src/signer`: the key it returns must not leave that module.
 *
 * @example
 * const privateKey = await decryptKey(readFileSync('key.json', 'utf8'), password)
 * @throws {WalletLockedError} the password is wrong
 * @throws {KeystoreInvalidError} not a v3 document, unsupported cipher or KDF, absurd KDF parameters, or the
 *   address field does not match the key inside
 */
export async function decryptKey(json: unknown, password: string): Promise<Hex> {
  const file = parseKeystore(json)
  const derived =
    file.kdf.kind === 'scrypt'
      ? await deriveScrypt(password, file.kdf.salt, file.kdf)
      : await derivePbkdf2(password, file.kdf.salt, file.kdf.c)
  let plain: Buffer | undefined
  try {
    if (!timingSafeEqual(mac(derived, file.ciphertext), file.mac))
      throw new WalletLockedError({ reason: 'wrong password' })
    const decipher = createDecipheriv('aes-128-ctr', derived.subarray(0, 16), file.iv)
    plain = Buffer.alloc(32)
    const decrypted = Buffer.concat([decipher.update(file.ciphertext), decipher.final()])
    decrypted.copy(plain, 32 - decrypted.length)
    decrypted.fill(0)
    const scalar = BigInt(`0x${plain.toString('hex')}`)
    if (scalar === 0n || scalar >= secp256k1N)
      throw new KeystoreInvalidError({ reason: 'the decrypted key is not a valid secp256k1 private key' })
    const privateKey: Hex = `0x${plain.toString('hex')}`
    if (file.address !== undefined && addressOfKey(privateKey).slice(2).toLowerCase() !== file.address)
      throw new KeystoreInvalidError({ reason: 'its address field does not match the key inside' })
    return privateKey
  } finally {
    derived.fill(0)
    plain?.fill(0)
  }
}

type ParsedKeystore = {
  iv: Buffer
  ciphertext: Buffer
  mac: Buffer
  address: string | undefined
  kdf:
    | { kind: 'scrypt'; n: number; r: number; p: number; salt: Buffer }
    | { kind: 'pbkdf2'; c: number; salt: Buffer }
}

function parseKeystore(json: unknown): ParsedKeystore {
  let doc = json
  if (typeof doc === 'string') {
    if (doc.length > limits.maxJsonChars)
      throw new KeystoreInvalidError({ reason: 'the file is larger than any v3 keystore' })
    try {
      doc = JSON.parse(doc)
    } catch {
      // JSON.parse quotes the input in its message; the input may be a secret, so say nothing more.
      throw new KeystoreInvalidError({ reason: 'it is not valid JSON' })
    }
  }
  if (!isRecord(doc)) throw new KeystoreInvalidError({ reason: 'it is not a JSON object' })
  if (doc.version !== 3)
    throw new KeystoreInvalidError({ reason: 'only version 3 of Web3 Secret Storage is supported' })
  // MyEtherWallet and some older tools wrote "Crypto".
  const crypto = doc.crypto ?? doc.Crypto
  if (!isRecord(crypto)) throw new KeystoreInvalidError({ reason: 'the "crypto" section is missing' })
  if (crypto.cipher !== 'aes-128-ctr')
    throw new KeystoreInvalidError({ reason: `unsupported cipher ${quote(crypto.cipher)}` })
  const cipherparams = isRecord(crypto.cipherparams) ? crypto.cipherparams : {}
  const iv = hexField(cipherparams.iv, 'crypto.cipherparams.iv', 16, 16)
  // Some early geth versions stripped leading zero bytes from the key before encrypting it (geth's own
  // 31_byte_key / 30_byte_key vectors); such keys are left-padded after decryption.
  const ciphertext = hexField(crypto.ciphertext, 'crypto.ciphertext', 30, 32)
  const macBytes = hexField(crypto.mac, 'crypto.mac', 32, 32)
  const kdfparams = crypto.kdfparams
  if (!isRecord(kdfparams)) throw new KeystoreInvalidError({ reason: 'crypto.kdfparams is missing' })
  if (kdfparams.dklen !== 32) throw new KeystoreInvalidError({ reason: 'crypto.kdfparams.dklen must be 32' })
  const salt = hexField(kdfparams.salt, 'crypto.kdfparams.salt', limits.saltMinBytes, limits.saltMaxBytes)
  let kdf: ParsedKeystore['kdf']
  if (crypto.kdf === 'scrypt') {
    const params = { n: kdfparams.n, r: kdfparams.r, p: kdfparams.p }
    checkScrypt(params, salt)
    kdf = { kind: 'scrypt', n: params.n, r: params.r, p: params.p, salt }
  } else if (crypto.kdf === 'pbkdf2') {
    if (kdfparams.prf !== 'hmac-sha256')
      throw new KeystoreInvalidError({ reason: `unsupported pbkdf2 prf ${quote(kdfparams.prf)}` })
    const c = kdfparams.c
    if (!isInt(c) || c < 1 || c > limits.pbkdf2MaxC)
      throw new KeystoreInvalidError({
        reason: `pbkdf2 iteration count must be an integer from 1 to ${limits.pbkdf2MaxC}`,
      })
    kdf = { kind: 'pbkdf2', c, salt }
  } else throw new KeystoreInvalidError({ reason: `unsupported kdf ${quote(crypto.kdf)}` })
  let address: string | undefined
  if (doc.address !== undefined) {
    if (typeof doc.address !== 'string' || !/^(0x)?[0-9a-fA-F]{40}$/.test(doc.address))
      throw new KeystoreInvalidError({ reason: 'the address field is not a 20-byte hex address' })
    address = doc.address.replace(/^0x/, '').toLowerCase()
  }
  return { iv, ciphertext, mac: macBytes, address, kdf }
}

function checkScrypt(
  params: { n: unknown; r: unknown; p: unknown },
  salt: Buffer,
): asserts params is { n: number; r: number; p: number } {
  const { n, r, p } = params
  if (!isInt(n) || n < 2 || n > limits.scryptMaxN || (n & (n - 1)) !== 0)
    throw new KeystoreInvalidError({
      reason: `scrypt n must be a power of two from 2 to ${limits.scryptMaxN}`,
    })
  if (!isInt(r) || r < 1 || r > limits.scryptMaxR)
    throw new KeystoreInvalidError({ reason: `scrypt r must be an integer from 1 to ${limits.scryptMaxR}` })
  if (!isInt(p) || p < 1 || p > limits.scryptMaxP)
    throw new KeystoreInvalidError({ reason: `scrypt p must be an integer from 1 to ${limits.scryptMaxP}` })
  // RFC 7914 requires n < 2^(128·r/8); OpenSSL (and so Node) enforces it, other libraries do not.
  if (16 * r < 53 && n >= 2 ** (16 * r))
    throw new KeystoreInvalidError({ reason: `scrypt n must be below 2^(16·r) = 2^${16 * r} (RFC 7914)` })
  if (n * r > limits.scryptMaxMemoryBlocks || n * r * p > limits.scryptMaxCost)
    throw new KeystoreInvalidError({
      reason: 'its scrypt parameters ask for more memory or time than any wallet uses (n·r·p above 2^21)',
    })
  if (salt.length < limits.saltMinBytes || salt.length > limits.saltMaxBytes)
    throw new KeystoreInvalidError({
      reason: `the salt must be ${limits.saltMinBytes}–${limits.saltMaxBytes} bytes`,
    })
}

function deriveScrypt(
  password: string,
  salt: Buffer,
  { n, r, p }: { n: number; r: number; p: number },
): Promise<Buffer> {
  const secret = Buffer.from(password, 'utf8')
  // Node refuses scrypt above `maxmem`; scrypt needs 128·r·(n + p + 2) bytes. Bounded by checkScrypt.
  const maxmem = 128 * r * (n + p + 2) + 1024 * 1024
  const failed = () =>
    new KeystoreInvalidError({ reason: 'the scrypt key derivation failed on this machine' })
  return new Promise((resolve, reject) => {
    try {
      scrypt(secret, salt, 32, { N: n, r, p, maxmem }, (error, key) => {
        secret.fill(0)
        if (error) reject(failed())
        else resolve(key)
      })
    } catch {
      secret.fill(0)
      reject(failed())
    }
  })
}

function derivePbkdf2(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const secret = Buffer.from(password, 'utf8')
  return new Promise((resolve, reject) => {
    pbkdf2(secret, salt, iterations, 32, 'sha256', (error, key) => {
      secret.fill(0)
      if (error) reject(new KeystoreInvalidError({ reason: 'the pbkdf2 key derivation failed' }))
      else resolve(key)
    })
  })
}

function mac(derived: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext]), 'bytes'))
}

/** The 32 key bytes, validated without ever putting the key into an error message. */
function privateKeyBytes(privateKey: string): Buffer {
  if (typeof privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(privateKey))
    throw new KeystoreInvalidError({ reason: 'a private key must be 0x followed by 64 hex digits' })
  const scalar = BigInt(privateKey)
  if (scalar === 0n || scalar >= secp256k1N)
    throw new KeystoreInvalidError({ reason: 'the private key is outside the secp256k1 range' })
  return Buffer.from(privateKey.slice(2), 'hex')
}

function hexField(value: unknown, field: string, minBytes: number, maxBytes: number): Buffer {
  const text = typeof value === 'string' ? value.replace(/^0x/, '') : undefined
  if (
    text === undefined ||
    text.length % 2 !== 0 ||
    !/^[0-9a-fA-F]*$/.test(text) ||
    text.length / 2 < minBytes ||
    text.length / 2 > maxBytes
  )
    throw new KeystoreInvalidError({
      reason: `${field} must be ${minBytes === maxBytes ? minBytes : `${minBytes}–${maxBytes}`} bytes of hex`,
      field,
    })
  return Buffer.from(text, 'hex')
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value)
}

/** A short, printable rendering of a file's value, for naming what was unsupported. */
function quote(value: unknown): string {
  return typeof value === 'string' ? `"${value.replace(/[^\w.-]/g, '').slice(0, 24)}"` : typeof value
}
