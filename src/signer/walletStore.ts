import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, chmod, link, mkdir, open, readdir, readFile, rm } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { type Address, getAddress, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import {
  InvalidAddressError,
  InvalidInputError,
  KeystoreInvalidError,
  NotFoundError,
  WalletExistsError,
} from '../errors/index.js'
import { addressProblem } from '../schemas/address.js'
import { decryptKey, encryptKey, type KeystoreV3 } from './keystore.js'

/**
 * A keystore file as Airlock writes it: a standard v3 document plus a non-secret `airlock` section that other
 * tools ignore. Nothing in `airlock` is covered by the MAC; it is a label, never a security decision.
 */
export type StoredKeystore = KeystoreV3 & {
  airlock?: { label?: string | undefined; createdAt?: string | undefined } | undefined
}

/** One wallet in the store. Never carries key material. */
export type WalletEntry = {
  /** EIP-55 checksummed. */
  address: Address
  label?: string
  /** ISO 8601, when Airlock wrote the file. */
  createdAt?: string
  /** Absolute path of the keystore file. */
  path: string
  /** Set when the file could not be read as a keystore; the wallet cannot be unlocked until it is fixed. */
  problem?: string
}

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
  /** Every keystore file, sorted by creation time then address. */
  list(): Promise<WalletEntry[]>
  /** The wallet with this address (checksummed or lowercase) or label. */
  find(ref: string): Promise<WalletEntry>
  /** The encrypted document of a wallet, for {@link createSigner}. */
  load(ref: string): Promise<StoredKeystore>
  /** Generates a key and stores it encrypted with `password`. */
  create(parameters: { password: string; label?: string | undefined }): Promise<WalletEntry>
  /** Stores a raw private key (64 hex digits, `0x` optional) encrypted with `password`. */
  importPrivateKey(parameters: {
    privateKey: string
    password: string
    label?: string | undefined
  }): Promise<WalletEntry>
  /**
   * Opens a v3 keystore (geth, MetaMask, ethers) with `keystorePassword` and stores its key re-encrypted with
   * `password` under Airlock's own KDF settings.
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
const fileNamePattern = /^0x[0-9a-fA-F]{40}\.json$/

/**
 * Airlock's data directory: `AIRLOCK_DATA_DIR`, else `~/.airlock`.
 *
 * @example createWalletStore({ dataDir: defaultDataDir(process.env) })
 */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.AIRLOCK_DATA_DIR || join(homedir(), '.airlock')
}

/**
 * The wallet store: keystore files at `<dataDir>/keystore/<checksummed address>.json`, mode 0600 in a 0700
 * directory, written atomically (temporary file, then a hard link that fails if the name exists) and never
 * overwritten. Keys are generated, decrypted and re-encrypted only inside this module and `keystore.ts`; what
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
  const pathOf = (address: Address) => join(dir, `${address}.json`)

  async function list(): Promise<WalletEntry[]> {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const entries = await Promise.all(names.filter((n) => fileNamePattern.test(n)).map(readEntry))
    return entries.sort(
      (a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.address.localeCompare(b.address),
    )
  }

  async function readEntry(name: string): Promise<WalletEntry> {
    const address = getAddress(name.slice(0, 42))
    const path = join(dir, name)
    try {
      const doc = parseStored(await readFile(path, 'utf8'))
      const claimed = doc.address?.toLowerCase().replace(/^0x/, '')
      if (claimed !== undefined && claimed !== address.slice(2).toLowerCase())
        return { address, path, problem: 'the address inside the file differs from its name' }
      const label = doc.airlock?.label
      const createdAt = doc.airlock?.createdAt
      return {
        address,
        path,
        ...(typeof label === 'string' && labelPattern.test(label) ? { label } : {}),
        ...(typeof createdAt === 'string' ? { createdAt } : {}),
      }
    } catch {
      return { address, path, problem: 'the file is not a readable v3 keystore' }
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
    if (!labelPattern.test(ref))
      throw new InvalidInputError('A wallet is named by its 0x address or its label.', {
        field: 'wallet',
        metaMessages: ['Labels are 1–32 letters, digits, ".", "_" or "-". Run `airlock wallet list`.'],
      })
    const entry = entries.find((e) => e.label === ref)
    if (!entry)
      throw new NotFoundError(`No wallet labelled "${ref}" in ${dir}.`, {
        metaMessages: ['Run `airlock wallet list` to see the wallets and their labels.'],
      })
    return entry
  }

  async function load(ref: string): Promise<StoredKeystore> {
    const entry = await find(ref)
    if (entry.problem)
      throw new KeystoreInvalidError({ reason: `${entry.path}: ${entry.problem}`, field: 'wallet' })
    return parseStored(await readFile(entry.path, 'utf8'))
  }

  async function store(privateKey: Hex, password: string, label: string | undefined): Promise<WalletEntry> {
    checkPassword(password)
    const address = privateKeyToAddress(privateKey)
    const path = pathOf(address)
    if (await exists(path)) throw new WalletExistsError({ what: `A wallet for ${address}` })
    if (label !== undefined) {
      checkLabel(label)
      if ((await list()).some((e) => e.label === label))
        throw new WalletExistsError({ what: `A wallet labelled "${label}"` })
    }
    const createdAt = new Date().toISOString()
    const doc: StoredKeystore = {
      ...(await encryptKey(privateKey, password, { n: scryptN })),
      airlock: { ...(label !== undefined ? { label } : {}), createdAt },
    }
    await writeNew(dir, path, `${JSON.stringify(doc, null, 2)}\n`, address)
    return { address, path, createdAt, ...(label !== undefined ? { label } : {}) }
  }

  return {
    dir,
    list,
    find,
    load,
    async create({ password, label }) {
      if (label !== undefined) checkLabel(label)
      checkPassword(password)
      return store(generatePrivateKey(), password, label)
    },
    async importPrivateKey({ privateKey, password, label }) {
      const key = parsePrivateKey(privateKey)
      if (label !== undefined) checkLabel(label)
      checkPassword(password)
      return store(key, password, label)
    },
    async importKeystore({ keystore, keystorePassword, password, label }) {
      if (label !== undefined) checkLabel(label)
      checkPassword(password)
      const key = await decryptKey(keystore, keystorePassword)
      return store(key, password, label)
    },
  }
}

/**
 * A private key typed or piped by a user: 64 hex digits, `0x` optional, surrounding whitespace ignored. The
 * error never repeats the input.
 */
function parsePrivateKey(text: string): Hex {
  const body = text.trim().replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]{64}$/.test(body))
    throw new InvalidInputError('The private key must be 64 hex digits, with or without 0x.', {
      field: 'privateKey',
      metaMessages: ['The input was not repeated here. Check that the whole key was given, on one line.'],
    })
  const scalar = BigInt(`0x${body}`)
  if (scalar === 0n || scalar >= 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n)
    throw new InvalidInputError('The private key is outside the secp256k1 range.', {
      field: 'privateKey',
      metaMessages: ['Check that this is an Ethereum private key.'],
    })
  return `0x${body.toLowerCase()}`
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
  if (/^0x/i.test(label))
    throw new InvalidInputError('A label must not start with 0x (it would read as an address).', {
      field: 'label',
    })
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
async function writeNew(dir: string, path: string, content: string, address: Address): Promise<void> {
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
