import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { getAddress, type Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/tempDir.js'
import { BaseError } from '../errors/index.js'
import { encryptKey } from './keystore.js'
import { createSigner } from './signer.js'
import { createWalletStore, defaultDataDir } from './walletStore.js'

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
      { address: entry.address, label: 'ops', createdAt: entry.createdAt, path: entry.path },
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
})
