import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { getBase58Decoder } from '@solana/kit'
import { getAddress, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/tempDir.js'
import { BaseError } from '../errors/index.js'
import { encryptKey } from './keystore.js'
import { createSigner } from './signer.js'
import { createSolanaSigner } from './solanaSigner.js'
import { createWalletStore, defaultDataDir, type StoredKeystore } from './walletStore.js'

const key: Hex = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
const password = 'correct horse battery staple'

const newStore = () => {
  const dataDir = tempDir('wallets')
  return { dataDir, store: createWalletStore({ dataDir, scryptN: 16 }) }
}

async function rejection(promise: Promise<unknown>): Promise<BaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  const text = [
    String(error),
    JSON.stringify(error),
    inspect(error, { depth: null, showHidden: true }),
  ].join()
  expect(text).not.toContain(key.slice(2))
  expect(text).not.toContain(password)
  return error as BaseError
}

describe('wallet store', () => {
  it('creates <dataDir>/keystore/<checksummed address>.json, 0600 in a 0700 directory, and lists it', async () => {
    const { store } = newStore()
    const entry = await store.create({ password, label: 'ops' })
    expect(entry.path).toBe(join(store.dir, `${entry.address}.json`))
    expect(statSync(entry.path).mode & 0o777).toBe(0o600)
    expect(statSync(store.dir).mode & 0o777).toBe(0o700)
    expect(readdirSync(store.dir)).toEqual([`${entry.address}.json`]) // no temp file left
    const doc = JSON.parse(readFileSync(entry.path, 'utf8'))
    expect(doc).toMatchObject({
      version: 3,
      address: entry.address.slice(2).toLowerCase(),
      crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt' },
      airlock: { label: 'ops' },
    })
    expect(await store.list()).toEqual([
      { family: 'evm', address: entry.address, label: 'ops', createdAt: entry.createdAt, path: entry.path },
    ])
    expect((await store.find('ops')).address).toBe(entry.address)
    expect((await store.find(entry.address.toLowerCase())).address).toBe(entry.address)
  })

  it('hands the encrypted document to createSigner, which opens it with the password', async () => {
    const { store } = newStore()
    const entry = await store.importPrivateKey({ privateKey: `  ${key.slice(2)}\n`, password, label: 'hot' })
    expect(entry.address).toBe(privateKeyToAddress(key))
    const signer = await createSigner({ backend: 'keystore', keystore: await store.load('hot'), password })
    expect(signer.address).toBe(entry.address)
    const error = await rejection(
      createSigner({ backend: 'keystore', keystore: await store.load('hot'), password: 'x'.repeat(12) }),
    )
    expect(error.code).toBe('WALLET_LOCKED')
  })

  it('never overwrites: the same key or the same label twice → WALLET_EXISTS, the file unchanged', async () => {
    const { store } = newStore()
    const entry = await store.importPrivateKey({ privateKey: key, password, label: 'a' })
    const before = readFileSync(entry.path, 'utf8')
    expect(
      (await rejection(store.importPrivateKey({ privateKey: key, password: 'another password!' }))).code,
    ).toBe('WALLET_EXISTS')
    expect(readFileSync(entry.path, 'utf8')).toBe(before)
    expect((await rejection(store.create({ password, label: 'a' }))).code).toBe('WALLET_EXISTS')
    expect(readdirSync(store.dir)).toEqual([`${entry.address}.json`])
  })

  it('imports a v3 keystore (geth very-light-scrypt.json) re-encrypted under the new password', async () => {
    const { store } = newStore()
    const geth = {
      address: '45dea0fb0bba44f4fcf290bba71fd57d7117cbb8',
      crypto: {
        cipher: 'aes-128-ctr',
        ciphertext: 'b87781948a1befd247bff51ef4063f716cf6c2d3481163e9a8f42e1f9bb74145',
        cipherparams: { iv: 'dc4926b48a105133d2f16b96833abf1e' },
        kdf: 'scrypt',
        kdfparams: {
          dklen: 32,
          n: 2,
          p: 1,
          r: 8,
          salt: '004244bbdc51cadda545b1cfa43cff9ed2ae88e08c61f1479dbb45410722f8f0',
        },
        mac: '39990c1684557447940d4c69e06b1b82b2aceacb43f284df65c956daf3046b85',
      },
      id: 'ce541d8d-c79b-40f8-9f8c-20f59616faba',
      version: 3,
    }
    expect(
      (await rejection(store.importKeystore({ keystore: geth, keystorePassword: 'nope', password }))).code,
    ).toBe('WALLET_LOCKED')
    expect(await store.list()).toEqual([])
    const entry = await store.importKeystore({
      keystore: JSON.stringify(geth),
      keystorePassword: '',
      password,
    })
    expect(entry.address).toBe(getAddress(`0x${geth.address}`))
    const stored = await store.load(entry.address)
    expect(stored.crypto.kdfparams).toMatchObject({ n: 16, r: 8, p: 1 })
    expect(stored.crypto.mac).not.toBe(geth.crypto.mac)
    expect((await createSigner({ backend: 'keystore', keystore: stored, password })).address).toBe(
      entry.address,
    )
  })

  it.each([
    ['too short', '0x1234'],
    ['65 hex digits', `${key}a`],
    ['non-hex', `0x${'g'.repeat(64)}`],
    ['zero', `0x${'0'.repeat(64)}`],
  ])('refuses a bad raw key (%s) without repeating it', async (_label, privateKey) => {
    const { store } = newStore()
    const error = await rejection(store.importPrivateKey({ privateKey, password }))
    expect(error.code).toBe('INVALID_INPUT')
    expect(error.message).not.toContain(privateKey.slice(2, 12))
    expect(await store.list()).toEqual([])
  })

  it('refuses short passwords and bad labels before writing anything', async () => {
    const { store } = newStore()
    expect((await rejection(store.create({ password: 'short' }))).code).toBe('INVALID_INPUT')
    for (const label of ['', '-x', 'a b', '0xops', 'x'.repeat(33), 'ops\u200b'])
      expect((await rejection(store.create({ password, label }))).code).toBe('INVALID_INPUT')
    expect(await store.list()).toEqual([])
  })

  it('finds by label or address; unknown ones and broken checksums are clear errors', async () => {
    const { store } = newStore()
    const entry = await store.create({ password })
    expect((await rejection(store.find('nobody'))).code).toBe('NOT_FOUND')
    expect((await rejection(store.find(`0x${'1'.repeat(40)}`))).code).toBe('NOT_FOUND')
    // the last C of 0x7099…79C8 lowercased: a broken EIP-55 checksum is refused, not "fixed"
    expect((await rejection(store.find('0x70997970C51812dc3A010C7d01b50e0d17dc79c8'))).code).toBe(
      'INVALID_ADDRESS',
    )
    expect((await store.find(entry.address)).address).toBe(entry.address)
  })

  it('lists an unreadable keystore file with its problem instead of failing', async () => {
    const { store } = newStore()
    const entry = await store.create({ password, label: 'good' })
    const junk = join(store.dir, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8.json')
    writeFileSync(junk, 'not json', { mode: 0o600 })
    const list = await store.list()
    expect(list.map((e) => [e.address, e.problem])).toContainEqual([
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      'the file is not a readable v3 keystore',
    ])
    expect(list.find((e) => e.address === entry.address)?.problem).toBeUndefined()
    expect((await rejection(store.load('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'))).code).toBe(
      'KEYSTORE_INVALID',
    )
  })

  it('lists nothing when the directory does not exist yet', async () => {
    const { store } = newStore()
    expect(await store.list()).toEqual([])
  })

  it('data directory: AIRLOCK_DATA_DIR, else ~/.airlock', () => {
    expect(defaultDataDir({ AIRLOCK_DATA_DIR: '/srv/airlock' })).toBe('/srv/airlock')
    expect(defaultDataDir({})).toMatch(/\.airlock$/)
  })

  it('a keystore written by encryptKey elsewhere (no airlock section) is listed without a label', async () => {
    const { store } = newStore()
    await store.create({ password }) // makes the directory
    const doc = await encryptKey(key, password, { n: 16 })
    writeFileSync(join(store.dir, `${privateKeyToAddress(key)}.json`), JSON.stringify(doc), { mode: 0o600 })
    expect((await store.find(privateKeyToAddress(key))).label).toBeUndefined()
  })

  it('a file written before wallets had a family (no airlock.family) reads as EVM, unchanged', async () => {
    const { store } = newStore()
    await store.create({ password }) // makes the directory
    const doc = { ...(await encryptKey(key, password, { n: 16 })), airlock: { label: 'old', createdAt: 'x' } }
    const path = join(store.dir, `${privateKeyToAddress(key)}.json`)
    writeFileSync(path, JSON.stringify(doc), { mode: 0o600 })
    expect(await store.find('old')).toEqual({
      family: 'evm',
      address: privateKeyToAddress(key),
      label: 'old',
      createdAt: 'x',
      path,
    })
    const signer = await createSigner({ backend: 'keystore', keystore: await store.load('old'), password })
    expect(signer.address).toBe(privateKeyToAddress(key))
    expect(readFileSync(path, 'utf8')).toBe(JSON.stringify(doc))
  })
})

// RFC 8032, section 7.1, TEST 1: a Solana (ed25519) seed and its public key.
const seedHex = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'
const publicHex = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
const b58 = (hex: string) => getBase58Decoder().decode(Buffer.from(hex, 'hex'))
const solanaAddress = b58(publicHex)
const solanaForms = {
  keypair: b58(seedHex + publicHex),
  seed: b58(seedHex),
  json: JSON.stringify(Array.from(Buffer.from(seedHex + publicHex, 'hex'))),
}
const solanaSecrets = [
  seedHex,
  solanaForms.keypair,
  solanaForms.seed,
  solanaForms.json.slice(1, 40),
  password,
]

async function solanaRejection(promise: Promise<unknown>): Promise<BaseError> {
  const error = await rejection(promise)
  const text = [
    String(error),
    JSON.stringify(error),
    inspect(error, { depth: null, showHidden: true }),
  ].join()
  for (const secret of solanaSecrets) expect(text).not.toContain(secret)
  return error
}

describe('Solana wallets in the store', () => {
  it('creates <base58 address>.json: the v3 format with the seed inside, marked solana, listed with its family', async () => {
    const { store } = newStore()
    const evm = await store.create({ password, label: 'ops' })
    const entry = await store.create({ password, label: 'sol', family: 'solana' })
    expect(entry.family).toBe('solana')
    expect(entry.address).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/)
    expect(entry.path).toBe(join(store.dir, `${entry.address}.json`))
    expect(statSync(entry.path).mode & 0o777).toBe(0o600)
    const doc = JSON.parse(readFileSync(entry.path, 'utf8'))
    expect(doc).toMatchObject({
      version: 3,
      crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt' },
      airlock: { family: 'solana', address: entry.address, label: 'sol' },
    })
    expect(doc.crypto.ciphertext).toHaveLength(64) // 32 bytes: the seed
    expect(doc.address).toBeUndefined() // the v3 field is an Ethereum address
    const list = await store.list()
    expect(list.map((e) => [e.family, e.address, e.label])).toEqual([
      ['evm', evm.address, 'ops'],
      ['solana', entry.address, 'sol'],
    ])
    expect(await store.find(entry.address)).toEqual(list[1])
    expect(await store.find('sol')).toEqual(list[1])
  })

  it('round trip: the encrypted document opens with the password into a signer of the same address', async () => {
    const { store } = newStore()
    const entry = await store.create({ password, family: 'solana' })
    const keystore = await store.load(entry.address, { family: 'solana' })
    expect((await createSolanaSigner({ keystore, password })).address).toBe(entry.address)
    const error = await solanaRejection(createSolanaSigner({ keystore, password: 'x'.repeat(12) }))
    expect(error.code).toBe('WALLET_LOCKED')
  })

  it('imports a base58 keypair, a base58 seed and a solana-keygen JSON array as one wallet (the same address)', async () => {
    const { store } = newStore()
    const entry = await store.importPrivateKey({
      privateKey: `${solanaForms.keypair}\n`,
      password,
      label: 'phantom',
      family: 'solana',
    })
    expect(entry).toMatchObject({ family: 'solana', address: solanaAddress, label: 'phantom' })
    for (const privateKey of [solanaForms.seed, solanaForms.json]) {
      const error = await solanaRejection(store.importPrivateKey({ privateKey, password, family: 'solana' }))
      expect(error.code).toBe('WALLET_EXISTS')
      expect(error.message).toContain(solanaAddress)
    }
    for (const privateKey of [solanaForms.seed, solanaForms.json]) {
      const fresh = newStore().store
      expect((await fresh.importPrivateKey({ privateKey, password, family: 'solana' })).address).toBe(
        solanaAddress,
      )
    }
  })

  it('refuses a keypair whose halves differ, and keys of the other family, saying what to fix', async () => {
    const { store } = newStore()
    const mismatched = b58(seedHex + seedHex)
    const cases: [string, string | undefined, RegExp][] = [
      [mismatched, 'solana', /not the public key of its first half/],
      [`0x${seedHex}`, 'solana', /EVM private key.*\n[\s\S]*leave out --family solana/],
      [solanaForms.keypair, undefined, /Solana private key[\s\S]*add --family solana/],
      [solanaForms.json, 'evm', /Solana private key[\s\S]*add --family solana/],
      ['not-base58-0OIl', 'solana', /not base58/],
    ]
    for (const [privateKey, family, message] of cases) {
      const error = await solanaRejection(
        store.importPrivateKey({ privateKey, password, family: family as 'evm' | 'solana' | undefined }),
      )
      expect(error.code).toBe('INVALID_INPUT')
      expect(error.message).toMatch(message)
      expect(error.message).not.toContain(mismatched)
    }
    expect(await store.list()).toEqual([])
  })

  it('keeps one key on one curve: load and importKeystore refuse the other family', async () => {
    const { store } = newStore()
    const sol = await store.create({ password, label: 'sol', family: 'solana' })
    await store.create({ password, label: 'eth' })
    expect((await solanaRejection(store.load('sol'))).message).toMatch(
      /is a Solana wallet; an EVM wallet is needed/,
    )
    expect((await solanaRejection(store.load('eth', { family: 'solana' }))).message).toMatch(
      /is an EVM wallet; a Solana wallet is needed/,
    )
    const exported = readFileSync(sol.path, 'utf8')
    const error = await solanaRejection(
      newStore().store.importKeystore({ keystore: exported, keystorePassword: password, password }),
    )
    expect(error.message).toMatch(/Airlock Solana keystore/)
  })

  it('solanaWallet: the named one, else the only one, else none; two without a name is a clear error', async () => {
    const { store } = newStore()
    expect(await store.solanaWallet()).toBeUndefined()
    await store.create({ password, label: 'eth' })
    expect(await store.solanaWallet()).toBeUndefined()
    const first = await store.create({ password, label: 'sol', family: 'solana' })
    expect(await store.solanaWallet()).toEqual(await store.find('sol'))
    expect((await store.solanaWallet(first.address))?.label).toBe('sol')
    expect((await solanaRejection(store.solanaWallet('eth'))).code).toBe('INVALID_INPUT')
    const second = await store.create({ password, family: 'solana' })
    expect((await solanaRejection(store.solanaWallet())).code).toBe('INVALID_CONFIG')
    expect((await store.solanaWallet(second.address))?.address).toBe(second.address)
    expect((await solanaRejection(store.solanaWallet(solanaAddress))).code).toBe('NOT_FOUND')
  })

  it('lists a misnamed or unmarked file with its problem; labels cannot be Solana addresses', async () => {
    const { store } = newStore()
    await store.create({ password })
    // An EVM keystore under a Solana name, and a Solana one whose airlock.address differs from its name.
    writeFileSync(
      join(store.dir, `${solanaAddress}.json`),
      JSON.stringify(await encryptKey(key, password, { n: 16 })),
      { mode: 0o600 },
    )
    const list = await store.list()
    expect(list.find((e) => e.address === solanaAddress)).toMatchObject({
      family: 'solana',
      problem: 'the file is named after a Solana address but is not a Solana keystore',
    })
    expect((await solanaRejection(store.load(solanaAddress, { family: 'solana' }))).code).toBe(
      'KEYSTORE_INVALID',
    )
    // A Solana keystore copied under another Solana address.
    const sol = await store.create({ password, family: 'solana' })
    const doc = JSON.parse(readFileSync(sol.path, 'utf8')) as StoredKeystore
    const renamed = b58(publicHex.replace(/^d7/, 'd8'))
    writeFileSync(join(store.dir, `${renamed}.json`), JSON.stringify(doc), { mode: 0o600 })
    expect((await store.list()).find((e) => e.address === renamed)?.problem).toBe(
      'the address inside the file differs from its name',
    )
    expect(
      (await solanaRejection(store.create({ password, label: '11111111111111111111111111111111' }))).code,
    ).toBe('INVALID_INPUT')
  })
})
