import { createPublicKey, verify } from 'node:crypto'
import { inspect } from 'node:util'
import {
  address,
  appendTransactionMessageInstruction,
  type Blockhash,
  compileTransaction,
  createKeyPairFromPrivateKeyBytes,
  createNoopSigner,
  createTransactionMessage,
  getAddressEncoder,
  getAddressFromPublicKey,
  getBase58Decoder,
  getPublicKeyFromAddress,
  getSignatureFromTransaction,
  pipe,
  type ReadonlyUint8Array,
  type SignatureBytes,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransaction,
  verifySignature,
} from '@solana/kit'
import { getTransferSolInstruction } from '@solana-program/system'
import { describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { encryptKey } from './keystore.js'
import { solanaAddressOfSeed, solanaKeyFromText } from './solanaKeys.js'
import { createSolanaSigner, type SolanaSigner } from './solanaSigner.js'

// RFC 8032, section 7.1, TEST 1.
const seedHex = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const publicHex = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const seed = new Uint8Array(Buffer.from(seedHex, 'hex'))
const publicKey = new Uint8Array(Buffer.from(publicHex, 'hex'))
const keypair = new Uint8Array([...seed, ...publicKey])
const b58 = (bytes: Uint8Array) => getBase58Decoder().decode(bytes)
const expectedAddress = b58(publicKey)
const password = 'correct horse battery staple'
const keypairJson = JSON.stringify(Array.from(keypair))
const secrets = [
  seedHex,
  seedHex.toUpperCase(),
  b58(seed),
  b58(keypair),
  keypairJson.slice(1, 40), // the first numbers of the JSON array
  Array.from(seed).join(', ').slice(0, 40),
  password,
]

function renderings(value: unknown): string {
  return [
    String(value),
    (value as Error)?.stack ?? '',
    JSON.stringify(value),
    inspect(value, { depth: null, showHidden: true }),
    inspect(value, { depth: null, showHidden: true, customInspect: false }),
  ].join('\n')
}

function expectNoSecret(value: unknown): void {
  const text = renderings(value)
  for (const secret of secrets) expect(text).not.toContain(secret)
}

function thrown(run: () => unknown): BaseError {
  let error: unknown
  try {
    run()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(BaseError)
  expectNoSecret(error)
  return error as BaseError
}

async function rejection(promise: Promise<unknown>): Promise<BaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  expectNoSecret(error)
  return error as BaseError
}

const blockhash = 'EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N' as Blockhash
const other = solanaAddressOfSeed(new Uint8Array(32).fill(7))

/** A kit-built SOL transfer from `from` (the fee payer), compiled: what the Solana adapter hands the signer. */
function transfer(from: string, version: 0 | 'legacy' = 0) {
  return compileTransaction(
    pipe(
      createTransactionMessage({ version }),
      (m) => setTransactionMessageFeePayer(address(from), m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash, lastValidBlockHeight: 1000n }, m),
      (m) =>
        appendTransactionMessageInstruction(
          getTransferSolInstruction({
            source: createNoopSigner(address(from)),
            destination: address(other),
            amount: 1_000_000n,
          }),
          m,
        ),
    ),
  )
}

/** Ed25519 verification by Node, from the base58 address alone (SPKI: a fixed prefix, then the 32 key bytes). */
function verifiesAgainst(addr: string, message: ReadonlyUint8Array, signature: Uint8Array): boolean {
  const raw = Buffer.from(getAddressEncoder().encode(address(addr)))
  const key = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]),
    format: 'der',
    type: 'spki',
  })
  return verify(null, message as Uint8Array, key, signature)
}

describe('Solana keys', () => {
  it('derives the RFC 8032 public key of a seed, as kit does, in base58', async () => {
    expect(solanaAddressOfSeed(seed)).toBe(expectedAddress)
    const kitPair = await createKeyPairFromPrivateKeyBytes(seed)
    expect(await getAddressFromPublicKey(kitPair.publicKey)).toBe(expectedAddress)
  })

  it('reads a base58 keypair, a base58 seed and a solana-keygen JSON array to the same seed', () => {
    const forms = [
      b58(keypair),
      `  ${b58(keypair)}\n`,
      b58(seed),
      keypairJson,
      `${JSON.stringify(Array.from(keypair), null, 1)}\n`,
      JSON.stringify(Array.from(seed)),
    ]
    for (const form of forms) expect(Buffer.from(solanaKeyFromText(form)).toString('hex')).toBe(seedHex)
  })

  it.each([
    [
      'a keypair whose public half is not its seed’s',
      b58(new Uint8Array([...seed, ...seed])),
      /not the public key/,
    ],
    ['bad base58 (0, O, I, l)', `${b58(keypair).slice(0, 40)}0OIl`, /not base58/],
    ['base58 of the wrong length', b58(keypair.slice(0, 48)), /48 bytes; it must be 64 .* or 32/],
    ['an EVM hex key', `0x${seedHex}`, /EVM private key .*64 hex digits/],
    ['an EVM hex key without 0x', seedHex, /EVM private key/],
    ['a JSON array of 63 numbers', JSON.stringify(Array.from(keypair.slice(0, 63))), /holds 63 numbers/],
    [
      'a JSON array with a number above 255',
      keypairJson.replace(/^\[\d+/, '[256'),
      /Element 0 .* not a byte/,
    ],
    ['a JSON array with a fraction', keypairJson.replace(/,\d+\]$/, ',1.5]'), /Element 63 .* not a byte/],
    ['a JSON array with a string', keypairJson.replace(/^\[\d+/, '["a"'), /Element 0 .* not a byte/],
    ['broken JSON', keypairJson.slice(0, 60), /not valid JSON/],
    ['a v3 keystore', '{"version":3}', /JSON object, not a Solana key/],
    ['nothing', '  \n', /empty/],
  ])('refuses %s with what to fix, never repeating the input', (_label, text, message) => {
    const error = thrown(() => solanaKeyFromText(text))
    expect(error.code).toBe('INVALID_INPUT')
    expect(error.message).toMatch(message)
    if (text.trim().length > 20) expect(error.message).not.toContain(text.trim().slice(0, 12))
  })
})

describe('Solana signer', () => {
  it('signs a kit-built transaction: the signature verifies against the address, and kit signs the same bytes', async () => {
    const signer = await createSolanaSigner({ secretKey: seed })
    expect(signer.address).toBe(expectedAddress)
    for (const version of [0, 'legacy'] as const) {
      const tx = transfer(signer.address, version)
      const signature = await signer.signMessage(tx.messageBytes)
      expect(signature).toBeInstanceOf(Uint8Array)
      expect(signature).toHaveLength(64)
      expect(verifiesAgainst(signer.address, tx.messageBytes, signature)).toBe(true)
      const key = await getPublicKeyFromAddress(address(signer.address))
      expect(await verifySignature(key, signature as SignatureBytes, tx.messageBytes)).toBe(true)
      // ed25519 is deterministic: kit's own signer over the same message gives the same signature.
      const kitSigned = await signTransaction([await createKeyPairFromPrivateKeyBytes(seed)], tx)
      expect(new Uint8Array(kitSigned.signatures[address(signer.address)]!)).toEqual(signature)
      const signed = {
        ...tx,
        signatures: { ...tx.signatures, [signer.address]: signature as SignatureBytes },
      }
      expect(getSignatureFromTransaction(signed)).toBe(getSignatureFromTransaction(kitSigned))
    }
  })

  it('takes the 64-byte keypair too, and refuses one whose halves do not match', async () => {
    expect((await createSolanaSigner({ secretKey: keypair })).address).toBe(expectedAddress)
    const error = await rejection(createSolanaSigner({ secretKey: new Uint8Array([...seed, ...seed]) }))
    expect(error.message).toMatch(/not the public key of its first half/)
    expect((await rejection(createSolanaSigner({ secretKey: seed.slice(0, 31) }))).code).toBe('INVALID_INPUT')
  })

  it('does not keep or alter the caller’s key bytes', async () => {
    const mine = seed.slice()
    const signer = await createSolanaSigner({ secretKey: mine })
    expect(mine).toEqual(seed)
    mine.fill(0)
    const tx = transfer(signer.address)
    const signature = await signer.signMessage(tx.messageBytes)
    expect(verifiesAgainst(expectedAddress, tx.messageBytes, signature)).toBe(true)
  })

  it('signs only transaction messages that list it as a signer', async () => {
    const signer = await createSolanaSigner({ secretKey: seed })
    const tx = transfer(signer.address)
    const bytes = tx.messageBytes
    const refusals: [string, unknown, RegExp][] = [
      ['arbitrary bytes', new Uint8Array([1, 2, 3]), /not one compiled Solana transaction message/],
      [
        'an off-chain message',
        new Uint8Array([0xff, ...Buffer.from('solana offchain'), 0, 0]),
        /not one compiled Solana transaction message/,
      ],
      ['trailing bytes', new Uint8Array([...bytes, 0]), /not one compiled Solana transaction message/],
      ['another wallet’s transaction', transfer(other).messageBytes, /does not list this wallet/],
      ['an empty array', new Uint8Array(0), /non-empty byte array/],
      ['a hex string', Buffer.from(bytes).toString('hex'), /non-empty byte array/],
      ['5000 bytes', new Uint8Array(5000), /no Solana transaction is larger/],
    ]
    for (const [label, message, reason] of refusals) {
      const error = await rejection(signer.signMessage(message as ReadonlyUint8Array))
      expect(error.code, label).toBe('SIGNING_REFUSED')
      expect(error.message, label).toMatch(reason)
    }
  })

  it('opens an Airlock Solana keystore with its password; a wrong one is WALLET_LOCKED', async () => {
    const keystore = await solanaKeystoreDoc()
    const signer = await createSolanaSigner({ keystore, password })
    expect(signer.address).toBe(expectedAddress)
    expect((await createSolanaSigner({ keystore: JSON.stringify(keystore), password })).address).toBe(
      expectedAddress,
    )
    expect((await rejection(createSolanaSigner({ keystore, password: 'not the password' }))).code).toBe(
      'WALLET_LOCKED',
    )
  })

  it('refuses an EVM keystore and a Solana one that names another address', async () => {
    const evm = await encryptKey(`0x${seedHex}`, password, { n: 16 })
    const error = await rejection(createSolanaSigner({ keystore: evm, password }))
    expect(error.code).toBe('KEYSTORE_INVALID')
    expect(error.message).toMatch(/not a Solana keystore/)
    const marked = { ...evm, airlock: { family: 'solana' } } // still carries the v3 (Ethereum) address
    expect((await rejection(createSolanaSigner({ keystore: marked, password }))).code).toBe(
      'KEYSTORE_INVALID',
    )
    const doc = await solanaKeystoreDoc()
    const renamed = { ...doc, airlock: { ...doc.airlock, address: other } }
    expect((await rejection(createSolanaSigner({ keystore: renamed, password }))).message).toMatch(
      /does not match the key inside/,
    )
    expect((await rejection(createSolanaSigner({ keystore: 'not json', password }))).code).toBe(
      'KEYSTORE_INVALID',
    )
  })

  it('never shows the key: JSON, inspect, String and errors show the address only', async () => {
    const signers: SolanaSigner[] = [
      await createSolanaSigner({ secretKey: seed }),
      await createSolanaSigner({ keystore: await solanaKeystoreDoc(), password }),
    ]
    for (const signer of signers) {
      expectNoSecret(signer)
      expect(JSON.stringify(signer)).toBe(JSON.stringify({ address: expectedAddress }))
      expect(inspect(signer)).toBe(`SolanaSigner { address: '${expectedAddress}' }`)
      expect(Object.keys(signer)).toEqual(['address', 'signMessage'])
      expect(Object.isFrozen(signer)).toBe(true)
    }
  })
})

/** What the wallet store writes for a Solana key: the seed as the v3 ciphertext, marked and without `address`. */
async function solanaKeystoreDoc() {
  const { address: _evm, ...v3 } = await encryptKey(`0x${seedHex}`, password, { n: 16 })
  return { ...v3, airlock: { family: 'solana' as const, address: expectedAddress } }
}
