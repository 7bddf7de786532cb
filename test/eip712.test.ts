import {
  type Abi,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  getAddress,
  type Hex,
  hashTypedData,
  http,
  parseSignature,
  parseUnits,
  verifyTypedData,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import artifacts from '../contracts/artifacts.json' with { type: 'json' }
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { createIntentJournal } from '../src/txs/intentJournal.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'
import { allowAll } from './policies.js'
import { usdcPermit } from './typedData.js'

// ADVERSARIAL 53 and the typed-data audit, through an MCP client, the real pipeline and the devnet: a domain type
// brought by the caller, authorizations for an ERC-1271 account the gateway key owns (contracts/SmartAccount.sol),
// and what the audit keeps of a signature. Every chain change is reverted after the file (snapshot).
const fixtures = useDevnet({ isolate: true })
const chain = devnetChain(fixtures)
const viem = createPublicClient({ chain, transport: http(fixtures.rpcUrl) })
const usdc = fixtures.tokens.USDC.address
const [, , bob, carol] = fixtures.accounts as `0x${string}`[] as [Hex, Hex, Hex, Hex]
const contracts = artifacts.contracts as unknown as Record<string, { abi: Abi; bytecode: Hex }>
const usdcAbi = contracts.USDC!.abi
// The gateway's key, used directly by the test only to show what its signature could do outside the gateway.
const key = mnemonicToAccount(devnetMnemonic, { addressIndex: 0 })
// Account 9 deployed the fixtures and is USDC's minter.
const minter = createWalletClient({
  account: mnemonicToAccount(devnetMnemonic, { addressIndex: 9 }),
  chain,
  transport: http(fixtures.rpcUrl),
})
const attacker = createWalletClient({
  account: mnemonicToAccount(devnetMnemonic, { addressIndex: 3 }),
  chain,
  transport: http(fixtures.rpcUrl),
})
const held = parseUnits('1000', 6)

let signer: Signer
let account: Hex
const stores: Store[] = []
/** A gateway under a policy that allows every write (typed data included, where it is understood). */
let g: Awaited<ReturnType<typeof gateway>>
/** A gateway under the demo policy, which signs typed data it decodes as moving nothing. */
let demo: Awaited<ReturnType<typeof gateway>>

beforeAll(async () => {
  signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  // A smart account owned by the gateway's key, holding 1,000 USDC.
  const deployed = await minter.deployContract({
    abi: contracts.SmartAccount!.abi,
    bytecode: contracts.SmartAccount!.bytecode,
    args: [signer.address],
  })
  account = getAddress((await viem.waitForTransactionReceipt({ hash: deployed })).contractAddress!)
  const minted = await minter.writeContract({
    address: usdc,
    abi: usdcAbi,
    functionName: 'mint',
    args: [account, held],
  })
  await viem.waitForTransactionReceipt({ hash: minted })
  // Built here, not in the tests: a gateway takes a while to start on a loaded machine (hook timeout).
  ;[g, demo] = await Promise.all([gateway(allowAll), gateway()])
})
afterAll(async () => {
  await Promise.all([g?.close(), demo?.close()])
  await Promise.all(stores.map((s) => s.close()))
})

/** A gateway with its own in-memory store and the given policy (the demo policy when undefined). */
async function gateway(policy?: unknown) {
  const store = await openMemoryStore()
  stores.push(store)
  const mcp = await connectInMemory({
    config: {
      ...(policy ? { policy: policy as Record<string, unknown> } : {}),
      rpc: { publicFallback: false },
    },
    devnet: fixtures,
    writes: { store, signer, trackerIntervalMs: 100, maintainIntervalMs: 100 },
  })
  await mcp.gateway.ready
  return { ...mcp, store, journal: createIntentJournal(store), operator: (await mcp.gateway.operator)! }
}

const usdcOf = (address: Hex) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [address] })

/** An EIP-3009 authorization of `value` USDC from `from` to `to`. */
function authorization(
  primaryType: 'TransferWithAuthorization' | 'ReceiveWithAuthorization',
  from: Hex,
  to: Hex,
  value: bigint,
  nonce: Hex,
) {
  return {
    domain: { name: 'USD Coin', version: '2', chainId: fixtures.chainId, verifyingContract: usdc },
    types: {
      [primaryType]: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType,
    message: { from, to, value: value.toString(), validAfter: '0', validBefore: '99999999999', nonce },
  }
}

/** The same typed data with numbers as bigints, as viem takes it. */
function forViem(typed: {
  domain: object
  types: object
  primaryType: string
  message: Record<string, unknown>
}) {
  const message = Object.fromEntries(
    Object.entries(typed.message).map(([k, v]) => [
      k,
      typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : v,
    ]),
  )
  return { ...typed, message } as never
}

describe('the EIP712Domain type (ADVERSARIAL 53)', () => {
  it('one brought by the caller that differs from the domain is refused; nothing is signed or recorded', async () => {
    const permit = usdcPermit({
      chainId: fixtures.chainId,
      token: usdc,
      owner: signer.address,
      spender: bob,
      value: '1',
    })
    const before = (await g.journal.list({})).length
    const string = (name: string) => ({ name, type: 'string' })
    const variants = [
      // Binds neither the chain nor the contract: the signature would be valid for any "USD Coin" v2 anywhere.
      [string('name'), string('version')],
      // No verifyingContract: valid for every contract of that name on this chain.
      [string('name'), string('version'), { name: 'chainId', type: 'uint256' }],
      // The right fields in another order, or with a wrong type: another domain separator.
      [
        string('name'),
        { name: 'chainId', type: 'uint256' },
        string('version'),
        { name: 'verifyingContract', type: 'address' },
      ],
      [string('name'), string('version'), string('chainId'), { name: 'verifyingContract', type: 'address' }],
    ]
    for (const EIP712Domain of variants) {
      const out = err(
        await g.call('sign_typed_data', {
          chain: 'devnet',
          typedData: { ...permit, types: { ...permit.types, EIP712Domain } },
        }),
      )
      expect(out.code).toBe('INVALID_INPUT')
      expect(out.field).toBe('typedData.types.EIP712Domain')
      expect(out.message).toMatch(/typedData\.types\.EIP712Domain differs from the domain/)
      expect(out.message).toMatch(/name, version, chainId, verifyingContract/)
    }
    expect(await g.journal.list({})).toHaveLength(before)
  })

  it('the canonical one is accepted; the signature is the one the token verifies on chain, and the audit has its digest', async () => {
    const nonce = (await viem.readContract({
      address: usdc,
      abi: usdcAbi,
      functionName: 'nonces',
      args: [signer.address],
    })) as bigint
    const permit = usdcPermit({
      chainId: fixtures.chainId,
      token: usdc,
      owner: signer.address,
      spender: bob,
      value: '7',
    })
    permit.message.nonce = nonce.toString()
    const EIP712Domain = [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ]
    const out = ok(
      await g.call('sign_typed_data', {
        chain: 'devnet',
        typedData: { ...permit, types: { ...permit.types, EIP712Domain } },
      }),
    )
    expect(out.status).toBe('completed')
    // Bob submits the permit: the token itself accepts the signature for the wallet.
    const { v, r, s } = parseSignature(out.signature)
    const bobWallet = createWalletClient({
      account: mnemonicToAccount(devnetMnemonic, { addressIndex: 2 }),
      chain,
      transport: http(fixtures.rpcUrl),
    })
    const hash = await bobWallet.writeContract({
      address: usdc,
      abi: usdcAbi,
      functionName: 'permit',
      args: [signer.address, bob, 7n, 9999999999n, Number(v), r, s],
    })
    expect((await viem.waitForTransactionReceipt({ hash })).status).toBe('success')
    expect(
      await viem.readContract({
        address: usdc,
        abi: erc20Abi,
        functionName: 'allowance',
        args: [signer.address, bob],
      }),
    ).toBe(7n)
    const entry = (await g.operator.audit.read({ limit: 1000 })).find(
      (e) => e.intentId === out.intentId && e.kind === 'intent.completed',
    )
    expect(entry?.data.detail).toEqual({
      typedData: {
        primaryType: 'Permit',
        domain: permit.domain,
        digest: hashTypedData(forViem(permit)),
      },
    })
  })
})

describe('authorizations that spend another account the key controls (ADVERSARIAL 53)', () => {
  it('the key’s own signature would spend the smart account’s USDC (the threat is real)', async () => {
    const typed = authorization('TransferWithAuthorization', account, carol, held, `0x${'01'.repeat(32)}`)
    const signature = await key.signTypedData(forViem(typed))
    const { result } = await viem.simulateContract({
      account: attacker.account,
      address: usdc,
      abi: usdcAbi,
      functionName: 'transferWithAuthorization',
      args: [account, carol, held, 0n, 99999999999n, typed.message.nonce, signature],
    })
    expect(result).toBeUndefined() // it would not revert: the ERC-1271 account accepts the key's signature
  })

  it('EIP-3009 authorizations from the smart account are refused under the demo policy; its USDC stays', async () => {
    const types = ['TransferWithAuthorization', 'ReceiveWithAuthorization'] as const
    const results = []
    for (const [i, primaryType] of types.entries()) {
      const typed = authorization(primaryType, account, carol, held / 2n, `0x${String(i + 2).repeat(64)}`)
      const result = await demo.call('sign_typed_data', { chain: 'devnet', typedData: typed })
      results.push(result)
      // Whatever came back is tried on chain, as an attacker holding it would.
      const signature = (result.structuredContent as { signature?: Hex } | undefined)?.signature
      if (signature) {
        const hash = await attacker.writeContract({
          address: usdc,
          abi: usdcAbi,
          functionName:
            primaryType === 'TransferWithAuthorization'
              ? 'transferWithAuthorization'
              : 'receiveWithAuthorization',
          args: [account, carol, held / 2n, 0n, 99999999999n, typed.message.nonce, signature],
        })
        await viem.waitForTransactionReceipt({ hash })
      }
    }
    expect(await usdcOf(account)).toBe(held)
    for (const result of results) {
      const out = err(result)
      expect(out.code).toBe('SIGNING_REFUSED')
      expect(out.field).toBe('typedData.message.from')
      expect(out.message).toContain(account)
      expect(out.message).toMatch(/not of the gateway wallet/)
      expect(out.hints?.join(' ')).toMatch(/ERC-1271/)
    }
    const intents = await demo.journal.list({})
    expect(intents.map((i) => [i.operation, i.status])).toEqual([
      ['sign_typed_data', 'cancelled'],
      ['sign_typed_data', 'cancelled'],
    ])
    expect(intents.every((i) => JSON.stringify(i.tx ?? {}).includes('signature') === false)).toBe(true)
  })

  it('a permit for the smart account is refused even where every write is allowed; no allowance appears', async () => {
    const result = await g.call('sign_typed_data', {
      chain: 'devnet',
      typedData: usdcPermit({
        chainId: fixtures.chainId,
        token: usdc,
        owner: account,
        spender: carol,
        value: '5',
      }),
    })
    const out = err(result)
    expect(out.code).toBe('SIGNING_REFUSED')
    expect(out.field).toBe('typedData.message.owner')
    expect(
      await viem.readContract({
        address: usdc,
        abi: erc20Abi,
        functionName: 'allowance',
        args: [account, carol],
      }),
    ).toBe(0n)
    expect((await g.journal.list({}))[0]?.status).toBe('cancelled')
  })

  it('an unknown message type naming an owner is not understood: held for a human, not signed', async () => {
    const out = ok(
      await g.call('sign_typed_data', {
        chain: 'devnet',
        typedData: {
          domain: { name: 'Vault', version: '1', chainId: fixtures.chainId, verifyingContract: usdc },
          types: {
            Mandate: [
              { name: 'owner', type: 'address' },
              { name: 'amount', type: 'uint256' },
            ],
          },
          primaryType: 'Mandate',
          message: { owner: account, amount: held.toString() },
        },
      }),
    )
    expect(out.status).toBe('held')
    expect(out.signature).toBeUndefined()
    expect(out.approval.reasons.join(' ')).toMatch(/does not understand/)
  })
})

describe('the audit of a typed-data signature', () => {
  it('a long message, approved by a human, still has its digest, domain and primary type in the audit', async () => {
    const typed = {
      domain: {
        name: 'Notes',
        version: '1',
        chainId: fixtures.chainId,
        verifyingContract: usdc,
        salt: `0x${'ab'.repeat(32)}`,
      },
      types: { Note: [{ name: 'contents', type: 'string' }] },
      primaryType: 'Note',
      message: { contents: 'x'.repeat(64 * 1024) },
    }
    const asked = ok(await g.call('sign_typed_data', { chain: 'devnet', typedData: typed }))
    expect(asked.status).toBe('held')
    await g.operator.approvals.decide(asked.intentId, 'approved', 'test', {
      expectHash: asked.approval.intentHash,
    })
    await g.operator.maintain()
    const done = ok(await g.call('get_intent', { intentId: asked.intentId }))
    expect(done.status).toBe('completed')
    const digest = hashTypedData(typed as never)
    const entry = (await g.operator.audit.read({ limit: 1000 })).find(
      (e) => e.intentId === asked.intentId && e.kind === 'intent.completed',
    )
    expect(entry?.data.detail).toEqual({ typedData: { primaryType: 'Note', domain: typed.domain, digest } })
    expect(
      await verifyTypedData({
        ...(typed as object),
        address: signer.address,
        signature: done.details.signature,
      } as never),
    ).toBe(true)
    expect((await g.operator.audit.verify()).ok).toBe(true)
  })
})
