import { inspect } from 'node:util'
import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { BaseError } from '../errors/index.js'
import { decryptKey, encryptKey, type KeystoreV3 } from './keystore.js'

// Web3 Secret Storage definition, "Test Vectors" (password "testpassword"), as also shipped in go-ethereum's
// accounts/keystore/testdata/v3_test_vector.json.
const specKey = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const specPbkdf2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const specScrypt = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 262144,
      r: 1,
      p: 8,
      salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
    },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
// go-ethereum accounts/keystore/testdata/very-light-scrypt.json (password "", scrypt n = 2).
const gethLightScrypt = {
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
// go-ethereum v3_test_vector.json: keys written by early versions that dropped leading zero bytes (password "foo").
const geth31ByteKey = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: 'e0c41130a323adc1446fc82f724bca2f' },
    ciphertext: '9517cd5bdbe69076f9bf5057248c6c050141e970efa36ce53692d5d59a3984',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 2,
      r: 8,
      p: 1,
      salt: '711f816911c92d649fb4c84b047915679933555030b3552c1212609b38208c63',
    },
    mac: 'd5e116151c6aa71470e67a7d42c9620c75c4d23229847dcc127794f0732b0db5',
  },
  id: 'fecfc4ce-e956-48fd-953b-30f8b52ed66c',
  version: 3,
}
const geth30ByteKey = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '3ca92af36ad7c2cd92454c59cea5ef00' },
    ciphertext: '108b7d34f3442fc26ab1ab90ca91476ba6bfa8c00975a49ef9051dc675aa',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 2,
      r: 8,
      p: 1,
      salt: 'd0769e608fb86cda848065642a9c6fa046845c928175662b8e356c77f914cd3b',
    },
    mac: '75d0e6759f7b3cefa319c3be41680ab6beea7d8328653474bd06706d4cc67420',
  },
  id: 'a37e1559-5955-450d-8075-7b8931b392b2',
  version: 3,
}

const key: Hex = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
const password = 'correct horse battery staple'

async function rejection(promise: Promise<unknown>): Promise<BaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  return error as BaseError
}

/** Every rendering of an error: message, stack, JSON and a deep inspect with hidden fields. */
function renderings(error: unknown): string {
  return [
    String(error),
    (error as Error).stack,
    JSON.stringify(error),
    inspect(error, { depth: null, showHidden: true }),
  ].join('\n')
}

describe('Web3 Secret Storage test vectors', () => {
  it('opens the spec PBKDF2-SHA-256 vector with "testpassword"', async () => {
    expect(await decryptKey(specPbkdf2, 'testpassword')).toBe(specKey)
    expect(await decryptKey(JSON.stringify(specPbkdf2), 'testpassword')).toBe(specKey)
  })

  it("refuses the spec scrypt vector clearly: its n = 2^18 with r = 1 breaks RFC 7914's n < 2^(16r), which OpenSSL enforces", async () => {
    const error = await rejection(decryptKey(specScrypt, 'testpassword'))
    expect(error.code).toBe('KEYSTORE_INVALID')
    expect(error.message).toMatch(/RFC 7914/)
  })

  it("opens go-ethereum's very-light-scrypt.json and checks its address field", async () => {
    const privateKey = await decryptKey(gethLightScrypt, '')
    expect(privateKeyToAddress(privateKey).toLowerCase()).toBe(`0x${gethLightScrypt.address}`)
  })

  it("opens go-ethereum's 31- and 30-byte key vectors, left-padding the key", async () => {
    expect(await decryptKey(geth31ByteKey, 'foo')).toBe(
      '0x00fa7b3db73dc7dfdf8c5fbdb796d741e4488628c41fc4febd9160a866ba0f35',
    )
    expect(await decryptKey(geth30ByteKey, 'foo')).toBe(
      '0x000081c29e8142bb6a81bef5a92bda7a8328a5c85bb2f9542e76f9b0f94fc018',
    )
  })
})

describe('encryptKey', () => {
  it('writes a v3 document (aes-128-ctr, scrypt r=8 p=1 dklen=32, lowercase address) that opens again', async () => {
    const json = await encryptKey(key, password, { n: 1024 })
    expect(json).toMatchObject({
      version: 3,
      address: privateKeyToAddress(key).slice(2).toLowerCase(),
      crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt', kdfparams: { dklen: 32, n: 1024, r: 8, p: 1 } },
    })
    expect(json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(json.crypto.kdfparams.salt).toMatch(/^[0-9a-f]{64}$/)
    expect(json.crypto.cipherparams.iv).toMatch(/^[0-9a-f]{32}$/)
    expect(JSON.stringify(json)).not.toContain(key.slice(2))
    expect(await decryptKey(JSON.parse(JSON.stringify(json)), password)).toBe(key)
  })

  it('uses scrypt n = 2^17 by default', async () => {
    const json = await encryptKey(key, password)
    expect(json.crypto.kdfparams).toMatchObject({ n: 2 ** 17, r: 8, p: 1 })
    expect(await decryptKey(json, password)).toBe(key)
  })

  it('never draws the same salt, iv or id twice', async () => {
    const [a, b] = await Promise.all([
      encryptKey(key, password, { n: 16 }),
      encryptKey(key, password, { n: 16 }),
    ])
    expect(a!.crypto.ciphertext).not.toBe(b!.crypto.ciphertext)
    expect(a!.crypto.kdfparams.salt).not.toBe(b!.crypto.kdfparams.salt)
    expect(a!.id).not.toBe(b!.id)
  })

  it.each([
    ['too short', '0x1234'],
    ['no 0x', key.slice(2)],
    ['zero', `0x${'0'.repeat(64)}`],
    ['above the curve order', `0x${'f'.repeat(64)}`],
  ])('refuses a bad private key (%s) without repeating it', async (_label, bad) => {
    const error = await rejection(encryptKey(bad as Hex, password, { n: 16 }))
    expect(error.code).toBe('KEYSTORE_INVALID')
    expect(renderings(error)).not.toContain(bad.replace(/^0x/, ''))
  })

  it('refuses an empty password and an out-of-range n', async () => {
    expect((await rejection(encryptKey(key, '', { n: 16 }))).code).toBe('WALLET_LOCKED')
    expect((await rejection(encryptKey(key, password, { n: 1000 }))).code).toBe('KEYSTORE_INVALID')
    expect((await rejection(encryptKey(key, password, { n: 2 ** 20 }))).code).toBe('KEYSTORE_INVALID')
  })
})

describe('decryptKey refuses', () => {
  let json: KeystoreV3
  const fresh = async () => {
    json ??= await encryptKey(key, password, { n: 16 })
    return structuredClone(json)
  }

  it('a wrong password, saying only that, and never the key or the passwords', async () => {
    const error = await rejection(decryptKey(await fresh(), 'hunter2-wrong'))
    expect(error.code).toBe('WALLET_LOCKED')
    expect(error.shortMessage).toBe('The wallet is locked: wrong password.')
    const text = renderings(error)
    for (const secret of [key.slice(2), 'hunter2-wrong', password]) expect(text).not.toContain(secret)
  })

  it('a tampered ciphertext or MAC (the MAC no longer matches)', async () => {
    const a = await fresh()
    a.crypto.ciphertext = `${a.crypto.ciphertext.slice(0, -2)}${a.crypto.ciphertext.endsWith('00') ? '01' : '00'}`
    expect((await rejection(decryptKey(a, password))).code).toBe('WALLET_LOCKED')
    const b = await fresh()
    b.crypto.mac = `${'0'.repeat(62)}01`
    expect((await rejection(decryptKey(b, password))).code).toBe('WALLET_LOCKED')
  })

  it('a tampered iv (not covered by the MAC) through the address check', async () => {
    const a = await fresh()
    a.crypto.cipherparams.iv = `${a.crypto.cipherparams.iv.slice(0, -2)}${a.crypto.cipherparams.iv.endsWith('00') ? '01' : '00'}`
    const error = await rejection(decryptKey(a, password))
    expect(error.code).toBe('KEYSTORE_INVALID')
    expect(error.message).toMatch(/address field does not match/)
    expect(renderings(error)).not.toContain(key.slice(2))
  })

  it('a swapped address field', async () => {
    const a = await fresh()
    a.address = '45dea0fb0bba44f4fcf290bba71fd57d7117cbb8'
    expect((await rejection(decryptKey(a, password))).code).toBe('KEYSTORE_INVALID')
  })

  it.each([
    ['n far above any wallet (2^30)', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { n: 2 ** 30 })],
    ['n not a power of two', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { n: 1000 })],
    ['r = 1000', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { r: 1000 })],
    ['p = 1000', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { p: 1000 })],
    ['n·r·p above 2^21', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { n: 2 ** 18, r: 8, p: 2 })],
    ['n as a string', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { n: '1024' })],
    ['dklen 64', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { dklen: 64 })],
    ['an empty salt', (j: KeystoreV3) => Object.assign(j.crypto.kdfparams, { salt: '' })],
    ['cipher aes-128-cbc', (j: KeystoreV3) => Object.assign(j.crypto, { cipher: 'aes-128-cbc' })],
    ['kdf argon2id', (j: KeystoreV3) => Object.assign(j.crypto, { kdf: 'argon2id' })],
    ['version 1', (j: KeystoreV3) => Object.assign(j, { version: 1 })],
    ['a 16-byte ciphertext', (j: KeystoreV3) => Object.assign(j.crypto, { ciphertext: 'ab'.repeat(16) })],
    ['a non-hex iv', (j: KeystoreV3) => Object.assign(j.crypto.cipherparams, { iv: 'zz'.repeat(16) })],
  ])('absurd or unknown parameters at once, before any key derivation: %s', async (_label, mutate) => {
    const json = await fresh()
    mutate(json)
    const started = performance.now()
    const error = await rejection(decryptKey(json, password))
    expect(error.code).toBe('KEYSTORE_INVALID')
    expect(performance.now() - started).toBeLessThan(200)
  })

  it.each([
    ['prf hmac-sha512', { prf: 'hmac-sha512' }],
    ['c = 10^9', { c: 1e9 }],
    ['c = 0', { c: 0 }],
  ])('pbkdf2 with %s', async (_label, change) => {
    const json = structuredClone(specPbkdf2)
    Object.assign(json.crypto.kdfparams, change)
    expect((await rejection(decryptKey(json, 'testpassword'))).code).toBe('KEYSTORE_INVALID')
  })

  it('text that is not JSON, without quoting it (it may be a pasted key)', async () => {
    const error = await rejection(decryptKey(`{ "oops": ${key.slice(2)}`, password))
    expect(error.code).toBe('KEYSTORE_INVALID')
    expect(renderings(error)).not.toContain(key.slice(2, 20))
  })
})
