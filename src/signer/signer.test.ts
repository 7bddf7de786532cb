import { inspect } from 'node:util'
import {
  type Address,
  createPublicClient,
  getAddress,
  type Hex,
  http,
  parseEther,
  parseTransaction,
  recoverTransactionAddress,
  recoverTypedDataAddress,
  zeroAddress,
} from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { recoverAuthorizationAddress } from 'viem/utils'
import { describe, expect, it } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import { guardAddress } from '../chains/evm/guard.js'
import { BaseError } from '../errors/index.js'
import { encryptKey } from './keystore.js'
import { createSigner, type Signer, type TypedDataToSign } from './signer.js'

const key: Hex = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
const password = 'correct horse battery staple'
const secrets = [key.slice(2), key.slice(2).toUpperCase(), password]

function renderings(value: unknown): string {
  return [
    String(value),
    (value as Error).stack ?? '',
    JSON.stringify(value),
    inspect(value, { depth: null, showHidden: true }),
    inspect(value, { depth: null, showHidden: true, customInspect: false }),
  ].join('\n')
}

function expectNoSecret(value: unknown): void {
  const text = renderings(value)
  for (const secret of secrets) expect(text).not.toContain(secret)
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

const keystoreSigner = async () =>
  createSigner({ backend: 'keystore', keystore: await encryptKey(key, password, { n: 16 }), password })

const tx = {
  chainId: 8453,
  nonce: 7,
  to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  value: 10n ** 15n,
  gas: 21000n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000n,
} as const

const permit: TypedDataToSign = {
  domain: {
    name: 'USD Coin',
    version: '2',
    chainId: 8453,
    verifyingContract: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
  },
  types: {
    Permit: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  },
  primaryType: 'Permit',
  message: {
    owner: privateKeyToAddress(key),
    spender: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    value: 1_000_000n,
    nonce: 0n,
    deadline: 1_900_000_000n,
  },
}

describe('the signer object carries no key', () => {
  it('exposes only address, signTransaction, signTypedData and signDelegation; JSON and inspect show the address', async () => {
    const signer = await keystoreSigner()
    expect(signer.address).toBe(privateKeyToAddress(key))
    expect(Object.keys(signer).sort()).toEqual([
      'address',
      'signDelegation',
      'signTransaction',
      'signTypedData',
    ])
    expect(JSON.parse(JSON.stringify(signer))).toEqual({ address: signer.address })
    expect(inspect(signer)).toBe(`Signer { address: '${signer.address}' }`)
    expectNoSecret(signer)
    expectNoSecret({ nested: { signer } })
    expect(Object.isFrozen(signer)).toBe(true)
    expect(() => Object.assign(signer, { privateKey: key })).toThrow()
    // no raw-hash or message signing (ADVERSARIAL 30)
    for (const name of ['sign', 'signMessage', 'signHash', 'privateKey', 'account'])
      expect((signer as unknown as Record<string, unknown>)[name]).toBeUndefined()
  })

  it('wrong keystore password → WALLET_LOCKED, nothing else said', async () => {
    const keystore = await encryptKey(key, password, { n: 16 })
    const error = await rejection(
      createSigner({ backend: 'keystore', keystore, password: 'not the password' }),
    )
    expect(error.code).toBe('WALLET_LOCKED')
    expect(error.message).not.toContain('not the password')
  })
})

describe('signTransaction', () => {
  it('signs an EIP-1559 transaction that recovers to the signer address', async () => {
    const signer = await keystoreSigner()
    const raw = await signer.signTransaction(tx)
    expect(raw.startsWith('0x02')).toBe(true)
    expect(await recoverTransactionAddress({ serializedTransaction: raw as `0x02${string}` })).toBe(
      signer.address,
    )
    expect(parseTransaction(raw)).toMatchObject({
      type: 'eip1559',
      chainId: 8453,
      nonce: 7,
      to: tx.to.toLowerCase(),
      value: tx.value,
    })
  })

  it.each([
    ['no chainId', { ...tx, chainId: undefined }],
    ['chainId 0', { ...tx, chainId: 0 }],
    ['a legacy gasPrice', { ...tx, gasPrice: 1n }],
    ['type legacy', { ...tx, type: 'legacy' }],
    ['an EIP-7702 authorizationList', { ...tx, authorizationList: [] }],
    ['blobs', { ...tx, blobs: [] }],
    ['a pre-set signature', { ...tx, r: '0x01', s: '0x01', yParity: 0 }],
    ['a recipient that is not an address', { ...tx, to: '0x1234' }],
  ])('refuses a transaction with %s', async (_label, bad) => {
    const signer = await keystoreSigner()
    const error = await rejection(signer.signTransaction(bad as never))
    expect(error.code).toBe('SIGNING_REFUSED')
  })

  it('wraps a viem failure without a cause chain and without the key', async () => {
    const signer = await keystoreSigner()
    const error = await rejection(signer.signTransaction({ ...tx, maxPriorityFeePerGas: 10n ** 30n }))
    expect(error.code).toBe('SIGNING_FAILED')
    expect(error.cause).toBeUndefined()
  })
})

describe('signTypedData (ADVERSARIAL 29)', () => {
  it('signs typed data bound to the expected chain and a contract; it recovers to the signer', async () => {
    const signer = await keystoreSigner()
    const signature = await signer.signTypedData(permit, { chainId: 8453 })
    expect(
      await recoverTypedDataAddress({
        ...(permit as Parameters<typeof recoverTypedDataAddress>[0]),
        signature,
      }),
    ).toBe(signer.address)
  })

  it.each([
    ['a domain chainId other than the expected chain', { ...permit.domain, chainId: 1 }],
    ['no domain chainId', { ...permit.domain, chainId: undefined }],
    ['no verifyingContract', { ...permit.domain, verifyingContract: undefined }],
    ['a zero-address verifyingContract', { ...permit.domain, verifyingContract: `0x${'0'.repeat(40)}` }],
    ['a verifyingContract that is not an address', { ...permit.domain, verifyingContract: '0x1234' }],
  ])('refuses %s', async (_label, domain) => {
    const signer = await keystoreSigner()
    const error = await rejection(
      signer.signTypedData({ ...permit, domain: domain as TypedDataToSign['domain'] }, { chainId: 8453 }),
    )
    expect(error.code).toBe('SIGNING_REFUSED')
  })

  it('refuses EIP712Domain as the primary type and a missing expected chain', async () => {
    const signer = await keystoreSigner()
    expect(
      (await rejection(signer.signTypedData({ ...permit, primaryType: 'EIP712Domain' }, { chainId: 8453 })))
        .code,
    ).toBe('SIGNING_REFUSED')
    expect((await rejection(signer.signTypedData(permit, {} as { chainId: number }))).code).toBe(
      'SIGNING_REFUSED',
    )
  })

  it('builds the EIP712Domain type from the domain; a different one brought along is refused (ADVERSARIAL 53)', async () => {
    const signer = await keystoreSigner()
    const canonical = [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ]
    const loose = { ...permit, types: { ...permit.types, EIP712Domain: canonical.slice(0, 2) } }
    const error = await rejection(signer.signTypedData(loose, { chainId: 8453 }))
    expect(error.code).toBe('SIGNING_REFUSED')
    expect(error.field).toBe('types.EIP712Domain')
    // The same list as the domain's is accepted and signs what no EIP712Domain at all signs.
    const same = { ...permit, types: { ...permit.types, EIP712Domain: canonical } }
    expect(await signer.signTypedData(same, { chainId: 8453 })).toBe(
      await signer.signTypedData(permit, { chainId: 8453 }),
    )
  })

  it('wraps viem validation errors (a malformed message) as SIGNING_FAILED without the key', async () => {
    const signer = await keystoreSigner()
    const error = await rejection(
      signer.signTypedData(
        { ...permit, message: { ...permit.message, owner: 'not an address' } },
        { chainId: 8453 },
      ),
    )
    expect(error.code).toBe('SIGNING_FAILED')
    expect(error.cause).toBeUndefined()
  })
})

describe('signDelegation (EIP-7702, only to the guard or back to none)', () => {
  const delegation = {
    chainId: 8453,
    nonce: 7,
    target: guardAddress,
    gas: 100_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000n,
  } as const

  it.each([
    ['the guard', guardAddress],
    ['the zero address (undelegate)', zeroAddress],
  ])('signs a type-4 transaction to the wallet itself delegating to %s', async (_label, target) => {
    const signer = await keystoreSigner()
    const raw = await signer.signDelegation({ ...delegation, target })
    expect(raw.startsWith('0x04')).toBe(true)
    const tx = parseTransaction(raw)
    expect(tx).toMatchObject({
      type: 'eip7702',
      chainId: 8453,
      nonce: 7,
      to: signer.address.toLowerCase(),
      gas: delegation.gas,
      maxFeePerGas: delegation.maxFeePerGas,
      maxPriorityFeePerGas: delegation.maxPriorityFeePerGas,
    })
    expect(tx.value ?? 0n).toBe(0n)
    expect(tx.data ?? '0x').toBe('0x')
    expect(await recoverTransactionAddress({ serializedTransaction: raw as `0x04${string}` })).toBe(
      signer.address,
    )
    expect(tx.authorizationList).toHaveLength(1)
    const [authorization] = tx.authorizationList ?? []
    // The transaction takes `nonce`, so the authorization is checked against `nonce + 1`.
    expect(authorization).toMatchObject({ chainId: 8453, nonce: 8 })
    expect(getAddress(authorization?.address as Address)).toBe(target)
    expect(
      await recoverAuthorizationAddress({
        authorization: authorization as Parameters<typeof recoverAuthorizationAddress>[0]['authorization'],
      }),
    ).toBe(signer.address)
  })

  it.each([
    ['another contract', { target: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' }],
    ['the wallet itself', { target: privateKeyToAddress(key) }],
    ['a target that is not an address', { target: '0x1234' }],
    ['chain 0 (valid on every chain)', { chainId: 0 }],
    ['no chainId', { chainId: undefined }],
    ['a negative nonce', { nonce: -1 }],
    ['a number for gas', { gas: 100_000 }],
    ['an extra field (value)', { value: 1n }],
    ['an extra field (authorizationList)', { authorizationList: [] }],
  ])('refuses a delegation to %s, signing nothing', async (_label, change) => {
    const signer = await keystoreSigner()
    const error = await rejection(signer.signDelegation({ ...delegation, ...change } as never))
    expect(error.code).toBe('SIGNING_REFUSED')
  })

  it('the devnet key delegates only on its own chain', async () => {
    const signer = await createSigner({ backend: 'devnet', accountIndex: 3 })
    expect((await rejection(signer.signDelegation(delegation))).code).toBe('SIGNING_REFUSED')
    const raw = await signer.signDelegation({ ...delegation, chainId: 31337 })
    expect(parseTransaction(raw)).toMatchObject({ type: 'eip7702', chainId: 31337 })
  })

  it('wraps a viem failure without a cause chain and without the key', async () => {
    const signer = await keystoreSigner()
    const error = await rejection(signer.signDelegation({ ...delegation, maxPriorityFeePerGas: 10n ** 30n }))
    expect(error.code).toBe('SIGNING_FAILED')
    expect(error.cause).toBeUndefined()
  })
})

describe('devnet backend', () => {
  const devnet = useDevnet({ isolate: true })

  it('is account N of the test mnemonic, and signs only for the devnet chain', async () => {
    expect((await createSigner({ backend: 'devnet' })).address).toBe(
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    )
    const one = await createSigner({ backend: 'devnet', accountIndex: 1 })
    expect(one.address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
    expect((await rejection(one.signTransaction({ ...tx, chainId: 1 }))).code).toBe('SIGNING_REFUSED')
    expect(
      (
        await rejection(
          one.signTypedData({ ...permit, domain: { ...permit.domain, chainId: 1 } }, { chainId: 1 }),
        )
      ).code,
    ).toBe('SIGNING_REFUSED')
    expect((await rejection(createSigner({ backend: 'devnet', accountIndex: -1 }))).code).toBe(
      'INVALID_INPUT',
    )
  })

  it('signs a transfer the devnet accepts and mines', async () => {
    const signer: Signer = await createSigner({ backend: 'devnet', accountIndex: 9, chainId: devnet.chainId })
    const client = createPublicClient({ transport: http(devnet.rpcUrl) })
    const [nonce, fees] = await Promise.all([
      client.getTransactionCount({ address: signer.address, blockTag: 'pending' }),
      client.estimateFeesPerGas(),
    ])
    const to = '0x000000000000000000000000000000000000dEaD'
    const before = await client.getBalance({ address: to })
    const raw = await signer.signTransaction({
      chainId: devnet.chainId,
      nonce,
      to,
      value: parseEther('0.5'),
      gas: 21000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
    const hash = await client.sendRawTransaction({ serializedTransaction: raw })
    const receipt = await client.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    expect(receipt.from.toLowerCase()).toBe(signer.address.toLowerCase())
    expect((await client.getBalance({ address: to })) - before).toBe(parseEther('0.5'))
  })
})
