import { type KeyObject, sign } from 'node:crypto'
import { inspect } from 'node:util'
import { getCompiledTransactionMessageDecoder, type ReadonlyUint8Array } from '@solana/kit'
import { KeystoreInvalidError, SigningFailedError, SigningRefusedError } from '../errors/index.js'
import { decryptKey } from './keystore.js'
import { base58, seedOfBytes, solanaKeyObject, solanaPublicKey } from './solanaKeys.js'

/**
 * The only face of a Solana key. It signs compiled Solana transaction messages that name this key as a signer,
 * and nothing else: no off-chain messages, no arbitrary bytes. It carries no key: `JSON.stringify` and
 * `util.inspect` show the address only.
 */
export type SolanaSigner = {
  /** Base58 of the ed25519 public key. */
  readonly address: string
  /**
   * Signs a Solana transaction message's bytes (the compiled message: exactly what the signature covers, as
   * `compileTransaction(message).messageBytes` holds them) and returns the 64-byte ed25519 signature. The bytes
   * must decode as a legacy, v0 or v1 message with nothing after it, and list this key among its signers.
   * Takes kit's `TransactionMessageBytes` (a read-only byte array) or any `Uint8Array` as they are.
   */
  signMessage(messageBytes: ReadonlyUint8Array): Promise<Uint8Array>
}

/** Options of {@link createSolanaSigner}: where the key comes from. */
export type CreateSolanaSignerParameters =
  | {
      /** A 32-byte ed25519 seed, or the 64-byte keypair (seed ‖ public key). Copied; the caller's array is left as it was. */
      secretKey: Uint8Array
    }
  | {
      /** An Airlock Solana keystore (object or JSON text), from `WalletStore.load(ref, { family: 'solana' })`. */
      keystore: unknown
      /** Its password. Used once, to decrypt; not kept. */
      password: string
    }

/** The largest transaction any Solana version accepts (v1; legacy and v0 are capped at 1232 bytes). */
const maxMessageBytes = 4096
const maxKeystoreChars = 64 * 1024

/**
 * Creates a Solana signer. A keystore is decrypted once, here; the key then lives only as a Node `KeyObject` in
 * this function's closure, so each signature costs one native ed25519 operation. Nothing returned, thrown or
 * logged contains key material.
 *
 * @example
 * const signer = await createSolanaSigner({ keystore: await store.load(entry.address, { family: 'solana' }), password })
 * const signature = await signer.signMessage(compileTransaction(message).messageBytes)
 * @throws {WalletLockedError} wrong password
 * @throws {KeystoreInvalidError} the keystore is malformed, is not a Solana keystore, or names another address
 * @throws {InvalidInputError} a secret key that is not 32 or 64 bytes, or a keypair whose halves do not match
 */
export async function createSolanaSigner(parameters: CreateSolanaSignerParameters): Promise<SolanaSigner> {
  let seed: Uint8Array
  let expected: string | undefined
  if ('secretKey' in parameters) seed = seedOfBytes(parameters.secretKey)
  else {
    const doc = solanaKeystore(parameters.keystore)
    expected = doc.expected
    const hex = await decryptKey(doc.keystore, parameters.password)
    seed = Buffer.from(hex.slice(2), 'hex')
  }
  let key: KeyObject
  try {
    key = solanaKeyObject(seed)
  } finally {
    seed.fill(0)
  }
  const address = base58(solanaPublicKey(key))
  if (expected !== undefined && expected !== address)
    throw new KeystoreInvalidError({ reason: 'the Solana address it names does not match the key inside' })
  const decoder = getCompiledTransactionMessageDecoder()

  async function signMessage(messageBytes: ReadonlyUint8Array): Promise<Uint8Array> {
    if (!(messageBytes instanceof Uint8Array) || messageBytes.length === 0)
      throw new SigningRefusedError({ reason: 'a Solana transaction message is a non-empty byte array' })
    if (messageBytes.length > maxMessageBytes)
      throw new SigningRefusedError({
        reason: `the message is ${messageBytes.length} bytes; no Solana transaction is larger than ${maxMessageBytes}`,
      })
    let signers: readonly string[]
    try {
      const [message, end] = decoder.read(messageBytes, 0)
      if (end !== messageBytes.length) throw new Error('trailing bytes')
      signers = message.staticAccounts.slice(0, message.header.numSignerAccounts)
    } catch {
      // Kit's errors quote what they read; the bytes are the caller's, but the error says only what was wrong.
      throw new SigningRefusedError({
        reason: 'the bytes are not one compiled Solana transaction message (legacy, v0 or v1)',
        metaMessages: [
          'Only transaction messages are signed (compileTransaction(message).messageBytes), never other bytes or off-chain messages. Nothing was signed.',
        ],
      })
    }
    if (!signers.includes(address))
      throw new SigningRefusedError({
        reason: `the transaction message does not list this wallet (${address}) among its signers`,
      })
    try {
      return new Uint8Array(sign(null, messageBytes as Uint8Array, key))
    } catch {
      throw new SigningFailedError({ reason: 'the ed25519 signature could not be made' })
    }
  }

  const signer = { address, signMessage }
  // Shown instead of the object by JSON.stringify and util.inspect / console.log; not enumerable.
  Object.defineProperties(signer, {
    toJSON: { value: () => ({ address }) },
    [inspect.custom]: { value: () => `SolanaSigner { address: '${address}' }` },
  })
  return Object.freeze(signer)
}

/**
 * The v3 document of a Solana keystore and the address it names. Only documents Airlock marked as Solana are
 * opened: an EVM key must never become an ed25519 seed (one key on two curves), and a v3 `address` field means
 * the file holds an Ethereum key.
 */
function solanaKeystore(keystore: unknown): { keystore: object; expected: string | undefined } {
  let doc = keystore
  if (typeof doc === 'string') {
    if (doc.length > maxKeystoreChars)
      throw new KeystoreInvalidError({ reason: 'the file is larger than any v3 keystore' })
    try {
      doc = JSON.parse(doc)
    } catch {
      throw new KeystoreInvalidError({ reason: 'it is not valid JSON' })
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new KeystoreInvalidError({ reason: 'it is not a JSON object' })
  const { airlock, address } = doc as { airlock?: { family?: unknown; address?: unknown }; address?: unknown }
  if (airlock?.family !== 'solana' || address !== undefined)
    throw new KeystoreInvalidError({
      reason:
        'it is not a Solana keystore (Airlock marks those with airlock.family "solana" and no v3 address)',
      details:
        'An EVM key is never used as a Solana key. Create or import a Solana wallet: `airlock wallet create --family solana`.',
    })
  return { keystore: doc, expected: typeof airlock.address === 'string' ? airlock.address : undefined }
}
