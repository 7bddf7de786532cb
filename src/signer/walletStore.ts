import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, chmod, link, mkdir, open, readdir, readFile, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { type Address, getAddress, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import {
  InvalidAddressError,
  InvalidConfigError,
  InvalidInputError,
  KeystoreInvalidError,
  NotFoundError,
  WalletExistsError,
} from '../errors/index.js'
import { addressProblem } from '../schemas/address.js'
import { decryptKey, encryptKey, type KeystoreV3 } from './keystore.js'
import { isSolanaAddress, solanaAddressOfSeed, solanaKeyFromText } from './solanaKeys.js'

/** The kind of key a wallet holds: secp256k1 (EVM chains) or ed25519 (Solana). */
export type WalletFamily = 'evm' | 'solana'

/**
 * A keystore file as Airlock writes it: a standard v3 document plus a non-secret `airlock` section that other
 * tools ignore. Nothing in `airlock` is covered by the MAC; it is a label, never a security decision (the key
 * inside is checked against the address when it is decrypted).
 *
 * A Solana keystore is the same v3 document whose ciphertext is the 32-byte ed25519 seed; it has no v3 `address`
 * (that field is an Ethereum address) and carries `airlock.family: 'solana'` and `airlock.address` (base58).
 * `family` absent means EVM: files written before Solana keys existed read unchanged.
 */
export type StoredKeystore = KeystoreV3 & {
  airlock?:
    | {
        label?: string | undefined
        createdAt?: string | undefined
        family?: WalletFamily | undefined
        /** Solana keystores: the base58 address (the v3 `address` field is EVM-only). */
        address?: string | undefined
      }
    | undefined
}

type WalletEntryFields = {
  label?: string
  /** ISO 8601, when Airlock wrote the file. */
  createdAt?: string
  /** Absolute path of the keystore file. */
  path: string
  /** Set when the file could not be read as a keystore; the wallet cannot be unlocked until it is fixed. */
  problem?: string
}

/** An EVM wallet in the store. */
export type EvmWalletEntry = WalletEntryFields & {
  family: 'evm'
  /** EIP-55 checksummed. */
  address: Address
}

/** A Solana wallet in the store. */
export type SolanaWalletEntry = WalletEntryFields & {
  family: 'solana'
  /** Base58 of the ed25519 public key. */
  address: string
}

/** One wallet in the store. Never carries key material. */
export type WalletEntry = EvmWalletEntry | SolanaWalletEntry

/** Options of {@link createWalletStore}. */
export type CreateWalletStoreParameters = {
  /** Airlock's data directory; keystores live in `<dataDir>/keystore/`. See {@link defaultDataDir}. */
  dataDir: string
  /** scrypt cost for new keystores. Default 2^17. Lower it only in tests. */
  scryptN?: number | undefined
}

/** The encrypted keystores under `<dataDir>/keystore/`. */
export type WalletStore = {
  /** `<dataDir>/keystore` */
  readonly dir: string
  /** Every keystore file, EVM and Solana, sorted by creation time then address. */
  list(): Promise<WalletEntry[]>
  /** The wallet with this address (EVM: checksummed or lowercase; Solana: base58) or label. */
  find(ref: string): Promise<WalletEntry>
  /**
   * The encrypted document of a wallet of `family` (default `'evm'`): for {@link createSigner} (EVM) or
   * `createSolanaSigner` (Solana). A wallet of the other family is refused: one key is never used on two curves.
   */
  load(ref: string, options?: { family?: WalletFamily | undefined }): Promise<StoredKeystore>
  /**
   * The Solana wallet to sign with: the one `ref` (address or label) names, which must be a Solana wallet; without
   * `ref`, the only Solana wallet in the store, or `undefined` when there is none.
   */
  solanaWallet(ref?: string | undefined): Promise<SolanaWalletEntry | undefined>
  /** Generates a key of `family` (default `'evm'`) and stores it encrypted with `password`. */
  create(parameters: {
    password: string
    label?: string | undefined
    family?: WalletFamily | undefined
  }): Promise<WalletEntry>
  /**
   * Stores a private key encrypted with `password`. EVM (the default): 64 hex digits, `0x` optional. Solana:
   * base58 of the 64-byte keypair or the 32-byte seed, or solana-keygen's JSON array (see `solanaKeyFromText`).
   */
  importPrivateKey(parameters: {
    privateKey: string
    password: string
    label?: string | undefined
    family?: WalletFamily | undefined
  }): Promise<WalletEntry>
  /**
   * Opens a v3 keystore (geth, MetaMask, ethers) with `keystorePassword` and stores its key re-encrypted with
   * `password` under Airlock's own KDF settings. EVM keys only: an Airlock Solana keystore is refused.
   */
  importKeystore(parameters: {
    keystore: unknown
    keystorePassword: string
    password: string
    label?: string | undefined
  }): Promise<WalletEntry>
}

/** Shortest password accepted for a new keystore. */
export const minPasswordLength = 8

const labelPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/
const evmFileName = /^0x[0-9a-fA-F]{40}\.json$/
const solanaFileName = /^[1-9A-HJ-NP-Za-km-z]{32,44}\.json$/
const secp256k1N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** A secret to store: an EVM private key, or a Solana seed (wiped by whoever made it). */
type Secret = { family: 'evm'; privateKey: Hex } | { family: 'solana'; seed: Uint8Array }

/**
 * Airlock's data directory: `AIRLOCK_DATA_DIR`, else `~/.airlock`.
 *
 * @example createWalletStore({ dataDir: defaultDataDir(process.env) })
 */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.AIRLOCK_DATA_DIR || join(homedir(), '.airlock')
}

/**
 * The wallet store: keystore files at `<dataDir>/keystore/<address>.json` (EVM: checksummed; Solana: base58),
 * mode 0600 in a 0700 directory, written atomically (temporary file, then a hard link that fails if the name
 * exists) and never overwritten. Keys are generated, decrypted and re-encrypted only inside this module and `keystore.ts`; what
 * comes out is addresses, labels and encrypted documents.
 *
 * @example
 * const store = createWalletStore({ dataDir: defaultDataDir(process.env) })
 * const { address } = await store.create({ password, label: 'ops' })
 * const signer = await createSigner({ backend: 'keystore', keystore: await store.load('ops'), password })
 */
export function createWalletStore(parameters: CreateWalletStoreParameters): WalletStore {
  const { dataDir, scryptN } = parameters
  const dir = join(dataDir, 'keystore')
  const pathOf = (address: string) => join(dir, `${address}.json`)

  async function list(): Promise<WalletEntry[]> {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const entries = await Promise.all(
      names
        .filter((n) => evmFileName.test(n) || (solanaFileName.test(n) && isSolanaAddress(n.slice(0, -5))))
        .map(readEntry),
    )
    return entries.sort(
      (a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.address.localeCompare(b.address),
    )
  }

  async function readEntry(name: string): Promise<WalletEntry> {
    const path = join(dir, name)
    const entry: WalletEntry = evmFileName.test(name)
      ? { family: 'evm', address: getAddress(name.slice(0, 42)), path }
      : { family: 'solana', address: name.slice(0, -5), path }
    try {
      const doc = parseStored(await readFile(path, 'utf8'))
      const problem =
        entry.family === 'evm' ? evmProblem(doc, entry.address) : solanaProblem(doc, entry.address)
      if (problem) return { ...entry, problem }
      const label = doc.airlock?.label
      const createdAt = doc.airlock?.createdAt
      return {
        ...entry,
        ...(typeof label === 'string' && labelPattern.test(label) ? { label } : {}),
        ...(typeof createdAt === 'string' ? { createdAt } : {}),
      }
    } catch {
      return { ...entry, problem: 'the file is not a readable v3 keystore' }
    }
  }

  async function find(ref: string): Promise<WalletEntry> {
    const entries = await list()
    if (ref.startsWith('0x')) {
      const problem = addressProblem(ref)
      if (problem) throw new InvalidAddressError({ reason: problem, field: 'wallet' })
      const address = getAddress(ref)
      const entry = entries.find((e) => e.address === address)
      if (!entry)
        throw new NotFoundError(`No wallet with address ${address} in ${dir}.`, {
          metaMessages: [
            'Run `airlock wallet list` to see the wallets, or create one: `airlock wallet create`.',
          ],
        })
      return entry
    }
    if (isSolanaAddress(ref)) {
      const entry = entries.find((e) => e.family === 'solana' && e.address === ref)
      if (!entry)
        throw new NotFoundError(`No wallet with address ${ref} in ${dir}.`, {
          metaMessages: [
            'Run `airlock wallet list` to see the wallets, or create one: `airlock wallet create --family solana`.',
          ],
        })
      return entry
    }
    if (!labelPattern.test(ref))
      throw new InvalidInputError(
        'A wallet is named by its address (0x… for EVM, base58 for Solana) or its label.',
        {
          field: 'wallet',
          metaMessages: ['Labels are 1–32 letters, digits, ".", "_" or "-". Run `airlock wallet list`.'],
        },
      )
    const entry = entries.find((e) => e.label === ref)
    if (!entry)
      throw new NotFoundError(`No wallet labelled "${ref}" in ${dir}.`, {
        metaMessages: ['Run `airlock wallet list` to see the wallets and their labels.'],
      })
    return entry
  }

  async function load(
    ref: string,
    options: { family?: WalletFamily | undefined } = {},
  ): Promise<StoredKeystore> {
    const entry = await find(ref)
    const family = options.family ?? 'evm'
    if (entry.family !== family)
      throw new InvalidInputError(
        `Wallet ${entry.address}${entry.label ? ` ("${entry.label}")` : ''} is ${familyName(entry.family)} wallet; ${familyName(family)} wallet is needed here.`,
        {
          field: 'wallet',
          metaMessages: [
            "A key is used on one chain family only. Run `airlock wallet list` to see each wallet's family.",
          ],
        },
      )
    if (entry.problem)
      throw new KeystoreInvalidError({ reason: `${entry.path}: ${entry.problem}`, field: 'wallet' })
    return parseStored(await readFile(entry.path, 'utf8'))
  }

  async function store(secret: Secret, password: string, label: string | undefined): Promise<WalletEntry> {
    checkPassword(password)
    const address =
      secret.family === 'evm' ? privateKeyToAddress(secret.privateKey) : solanaAddressOfSeed(secret.seed)
    const path = pathOf(address)
    if (await exists(path)) throw new WalletExistsError({ what: `A wallet for ${address}` })
    if (label !== undefined) {
      checkLabel(label)
      if ((await list()).some((e) => e.label === label))
        throw new WalletExistsError({ what: `A wallet labelled "${label}"` })
    }
    const createdAt = new Date().toISOString()
    const labelled = label !== undefined ? { label } : {}
    let doc: StoredKeystore
    if (secret.family === 'evm')
      doc = {
        ...(await encryptKey(secret.privateKey, password, { n: scryptN })),
        airlock: { family: 'evm', ...labelled, createdAt },
      }
    else {
      // The v3 cipher, KDF and MAC are the EVM keystore's own (one audited implementation); the `address` it
      // writes would be the seed read as a secp256k1 key, meaningless and misleading here, so it is dropped.
      const hex = Buffer.from(secret.seed)
      const { address: _evmReading, ...encrypted } = await encryptKey(`0x${hex.toString('hex')}`, password, {
        n: scryptN,
      }).finally(() => hex.fill(0))
      doc = { ...encrypted, airlock: { family: 'solana', address, ...labelled, createdAt } }
    }
    await writeNew(dir, path, `${JSON.stringify(doc, null, 2)}\n`, address)
    return secret.family === 'evm'
      ? { family: 'evm', address: address as Address, path, createdAt, ...labelled }
      : { family: 'solana', address, path, createdAt, ...labelled }
  }

  /** Stores a Solana seed and wipes it, whatever happens. */
  async function storeSeed(
    seed: Uint8Array,
    password: string,
    label: string | undefined,
  ): Promise<WalletEntry> {
    try {
      if (!storableSeed(seed))
        throw new InvalidInputError(
          'This Solana key cannot be stored: its seed is outside the keystore range.',
          {
            field: 'privateKey',
            metaMessages: [
              'Read as a number, the seed is 0 or at least the secp256k1 order, which the v3 keystore shared with EVM',
              'wallets refuses (about 1 key in 2^128 is). Use another key.',
            ],
          },
        )
      return await store({ family: 'solana', seed }, password, label)
    } finally {
      seed.fill(0)
    }
  }

  async function solanaWallet(ref?: string | undefined): Promise<SolanaWalletEntry | undefined> {
    if (ref !== undefined) {
      const entry = await find(ref)
      if (entry.family !== 'solana')
        throw new InvalidInputError(
          `Wallet ${entry.address}${entry.label ? ` ("${entry.label}")` : ''} is an EVM wallet; a Solana wallet is needed here.`,
          {
            field: 'wallet',
            metaMessages: [
              'Name a Solana wallet (`airlock wallet list` shows each family), or create one: `airlock wallet create --family solana`.',
            ],
          },
        )
      return entry
    }
    const solana = (await list()).filter((e): e is SolanaWalletEntry => e.family === 'solana')
    if (solana.length > 1)
      throw new InvalidConfigError(
        `${dir} holds ${solana.length} Solana wallets; name the one to sign with by its address or label.`,
        { field: 'wallet', metaMessages: ['Run `airlock wallet list` to see them.'] },
      )
    return solana[0]
  }

  return {
    dir,
    list,
    find,
    load,
    solanaWallet,
    async create({ password, label, family }) {
      checkFamily(family)
      if (label !== undefined) checkLabel(label)
      checkPassword(password)
      if (family !== 'solana')
        return store({ family: 'evm', privateKey: generatePrivateKey() }, password, label)
      let seed = randomBytes(32)
      while (!storableSeed(seed)) {
        seed.fill(0)
        seed = randomBytes(32)
      }
      return storeSeed(seed, password, label)
    },
    async importPrivateKey({ privateKey, password, label, family }) {
      checkFamily(family)
      if (family === 'solana') {
        if (label !== undefined) checkLabel(label)
        checkPassword(password)
        return storeSeed(solanaKeyFromText(privateKey), password, label)
      }
      const key = parsePrivateKey(privateKey)
      if (label !== undefined) checkLabel(label)
      checkPassword(password)
      return store({ family: 'evm', privateKey: key }, password, label)
    },
    async importKeystore({ keystore, keystorePassword, password, label }) {
      if (label !== undefined) checkLabel(label)
      checkPassword(password)
      if (familyOfDocument(keystore) === 'solana')
        throw new InvalidInputError(
          'This is an Airlock Solana keystore; it cannot be imported as an EVM wallet.',
          {
            field: 'file',
            metaMessages: [
              'A key is used on one chain family only. To restore this wallet, copy the file into the keystore directory under the name it had (<address>.json).',
            ],
          },
        )
      const key = await decryptKey(keystore, keystorePassword)
      return store({ family: 'evm', privateKey: key }, password, label)
    },
  }
}

/** Why an EVM-named keystore file cannot be used, or `undefined`. */
function evmProblem(doc: StoredKeystore, address: Address): string | undefined {
  const family = doc.airlock?.family
  if (family !== undefined && family !== 'evm')
    return 'the file is named after an EVM address but is marked as a non-EVM keystore'
  const claimed = doc.address?.toLowerCase().replace(/^0x/, '')
  if (claimed !== undefined && claimed !== address.slice(2).toLowerCase())
    return 'the address inside the file differs from its name'
  return undefined
}

/** Why a Solana-named keystore file cannot be used, or `undefined`. */
function solanaProblem(doc: StoredKeystore, address: string): string | undefined {
  if (doc.airlock?.family !== 'solana' || doc.address !== undefined)
    return 'the file is named after a Solana address but is not a Solana keystore'
  const claimed = doc.airlock.address
  if (claimed !== undefined && claimed !== address) return 'the address inside the file differs from its name'
  return undefined
}

/** What an `airlock` section says about a document's family (object or JSON text); `undefined` when unreadable. */
function familyOfDocument(keystore: unknown): unknown {
  let doc = keystore
  if (typeof doc === 'string')
    try {
      doc = JSON.parse(doc)
    } catch {
      return undefined
    }
  if (typeof doc !== 'object' || doc === null) return undefined
  const airlock = (doc as { airlock?: unknown }).airlock
  return typeof airlock === 'object' && airlock !== null
    ? (airlock as { family?: unknown }).family
    : undefined
}

/**
 * Whether a seed fits the v3 keystore as Airlock encrypts and decrypts it: the same code as EVM keys, which holds
 * a key between 1 and the secp256k1 order. A random seed falls outside with probability about 2^-128.
 */
function storableSeed(seed: Uint8Array): boolean {
  const scalar = BigInt(`0x${Buffer.from(seed.buffer, seed.byteOffset, seed.length).toString('hex')}`)
  return scalar !== 0n && scalar < secp256k1N
}

function checkFamily(family: unknown): void {
  if (family !== undefined && family !== 'evm' && family !== 'solana')
    throw new InvalidInputError('The wallet family must be "evm" or "solana".', {
      field: 'family',
      metaMessages: ['Leave it out for an EVM wallet; use --family solana for a Solana one.'],
    })
}

function familyName(family: WalletFamily): string {
  return family === 'evm' ? 'an EVM' : 'a Solana'
}

/**
 * A private key typed or piped by a user: 64 hex digits, `0x` optional, surrounding whitespace ignored. The
 * error never repeats the input.
 */
function parsePrivateKey(text: string): Hex {
  const body = text.trim().replace(/^0x/i, '')
  if (looksSolana(body))
    throw new InvalidInputError('This looks like a Solana private key, not an EVM one (64 hex digits).', {
      field: 'privateKey',
      metaMessages: [
        'To import it as a Solana wallet, add --family solana. The input was not repeated here.',
      ],
    })
  if (!/^[0-9a-fA-F]{64}$/.test(body))
    throw new InvalidInputError('The private key must be 64 hex digits, with or without 0x.', {
      field: 'privateKey',
      metaMessages: ['The input was not repeated here. Check that the whole key was given, on one line.'],
    })
  const scalar = BigInt(`0x${body}`)
  if (scalar === 0n || scalar >= secp256k1N)
    throw new InvalidInputError('The private key is outside the secp256k1 range.', {
      field: 'privateKey',
      metaMessages: ['Check that this is an Ethereum private key.'],
    })
  return `0x${body.toLowerCase()}`
}

/**
 * Whether text is shaped like a Solana key: a JSON array (solana-keygen's id.json), or base58 as long as a 32-byte
 * seed (43–44 characters) or a 64-byte keypair (86–88). Shape only; nothing is decoded.
 */
function looksSolana(body: string): boolean {
  if (body.startsWith('[')) return true
  return /^[1-9A-HJ-NP-Za-km-z]+$/.test(body) && [43, 44, 86, 87, 88].includes(body.length)
}

function checkPassword(password: string): void {
  if (password.length < minPasswordLength)
    throw new InvalidInputError(`The wallet password must be at least ${minPasswordLength} characters.`, {
      field: 'password',
      metaMessages: ['Choose a longer password (AIRLOCK_WALLET_PASSWORD or the prompt).'],
    })
}

function checkLabel(label: string): void {
  if (!labelPattern.test(label))
    throw new InvalidInputError(
      'A label is 1–32 letters, digits, ".", "_" or "-", starting with a letter or digit.',
      {
        field: 'label',
        metaMessages: ['Pick a short name such as "ops" or "treasury-1".'],
      },
    )
  if (/^0x/i.test(label) || isSolanaAddress(label))
    throw new InvalidInputError(
      'A label must not start with 0x or be a Solana address (it would read as an address).',
      {
        field: 'label',
      },
    )
}

function parseStored(text: string): StoredKeystore {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new KeystoreInvalidError({ reason: 'the file is not valid JSON' })
  }
  if (typeof doc !== 'object' || doc === null || (doc as { version?: unknown }).version !== 3)
    throw new KeystoreInvalidError({ reason: 'the file is not a version 3 keystore' })
  return doc as StoredKeystore
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Writes `content` to `path` only if nothing is there: a private temporary file is written and synced, then
 * hard-linked to its final name (link(2) fails on an existing name, unlike rename(2)), then removed. A crash
 * leaves either no file or the complete one, plus at worst a stray `.tmp` file.
 */
async function writeNew(dir: string, path: string, content: string, address: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const temp = join(dir, `.${address}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.chmod(0o600)
    await handle.writeFile(content, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(temp, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new WalletExistsError({ what: `A wallet for ${address}` })
    throw error
  } finally {
    await rm(temp, { force: true })
  }
  // Make the new directory entry durable too (best effort: not every platform can open a directory).
  try {
    const d = await open(dir, 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  } catch {}
}
