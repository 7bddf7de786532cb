import {
  type Address,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hex,
  http,
  maxUint256,
  parseAbi,
  parseUnits,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import artifacts from '../contracts/artifacts.json' with { type: 'json' }
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'

// DESIGN §11 and ADVERSARIAL 46-50 through the real pipeline: contracts that behave one way when simulated and
// another when mined, a token whose balanceOf lies, one without decimals(), and batches that hide a refused
// recipient. Outcomes are asserted on chain (balances) and in the store (limits, kill switch, audit).
const fixtures = useDevnet({ isolate: true })
const chain = devnetChain(fixtures)
const viem = createPublicClient({ chain, transport: http(fixtures.rpcUrl) })
const usdc = fixtures.tokens.USDC.address
const [, alice] = fixtures.accounts as [Address, Address]
const pullerAbi = parseAbi([
  'function pull(address token, uint256 amount, uint8 tell)',
  'function arm(bool on)',
])
const tells = { READER_FUNDED: 1, GAS_LIMIT: 2, GAS_PRICE: 3, COINBASE: 4, READ_IN_BLOCK: 5, ARMED: 6 }

let signer: Signer
let puller: Address
let lying: Address
let noDecimals: Address
const stores: Store[] = []
/** Runs once right after the gateway signs a transaction, before it is broadcast (the real world moving on). */
let afterSign: (() => Promise<void>) | undefined

const contracts = (artifacts as { contracts: Record<string, { abi: unknown[]; bytecode: Hex }> }).contracts

/** Sends a transaction from a devnet account outside the gateway and waits for it. */
async function sendAs(index: number, request: { to?: Address; data: Hex; deploy?: boolean }) {
  const wallet = createWalletClient({
    account: mnemonicToAccount(devnetMnemonic, { addressIndex: index }),
    chain,
    transport: http(fixtures.rpcUrl),
  })
  const hash = await wallet.sendTransaction({ to: request.to ?? null, data: request.data } as never)
  return viem.waitForTransactionReceipt({ hash })
}

async function deploy(name: string, args: unknown[] = []): Promise<Address> {
  const a = contracts[name]!
  const wallet = createWalletClient({
    account: mnemonicToAccount(devnetMnemonic, { addressIndex: 1 }),
    chain,
    transport: http(fixtures.rpcUrl),
  })
  const hash = await wallet.deployContract({ abi: a.abi, bytecode: a.bytecode, args } as never)
  return (await viem.waitForTransactionReceipt({ hash })).contractAddress as Address
}

beforeAll(async () => {
  const real = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  signer = {
    address: real.address,
    signTypedData: (typedData, expected) => real.signTypedData(typedData, expected),
    async signTransaction(tx) {
      const signed = await real.signTransaction(tx)
      const hook = afterSign
      afterSign = undefined
      if (hook) await hook()
      return signed
    },
  }
  // These tests are the path of a chain without the on-chain guard (no EIP-7702, or the guard not enabled): what
  // moves beyond the check is caught on the receipt. The devnet wallet delegates to the guard, so undo that here
  // (the file's snapshot restores it); test/postConditions.test.ts covers the same attacks with the guard.
  await jsonRpc(fixtures.rpcUrl, [{ method: 'anvil_setCode', params: [real.address, '0x'] }])
  puller = await deploy('TellingPuller')
  lying = await deploy('LyingBalanceToken', [signer.address])
  noDecimals = await deploy('NoDecimalsToken', [signer.address])
  // An allowance the wallet gave the puller long ago (outside this gateway): what it may take is up to it.
  await sendAs(0, {
    to: usdc,
    data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [puller, maxUint256] }),
  })
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
})

async function gateway(policy: unknown, config: Record<string, unknown> = {}) {
  const store = await openMemoryStore()
  stores.push(store)
  const mcp = await connectInMemory({
    config: { policy: policy as Record<string, unknown>, rpc: { publicFallback: false }, ...config },
    devnet: fixtures,
    writes: { store, signer, trackerIntervalMs: 100, maintainIntervalMs: 100 },
  })
  await mcp.gateway.ready
  return { ...mcp, store, operator: (await mcp.gateway.operator)! }
}

const pullPolicy = (effect: 'allow' | 'require_approval') => ({
  version: 1,
  rules: [
    {
      id: 'puller',
      effect,
      match: { operation: ['write_contract'], contract: [puller] },
      ...(effect === 'allow'
        ? { limits: [{ id: 'usdc-day', metric: 'outflow', token: usdc, window: '24h', max: '100' }] }
        : {}),
    },
  ],
})

const pull = (amount: string, tell: number) => ({
  chain: 'devnet',
  address: puller,
  function: 'pull(address token, uint256 amount, uint8 tell)',
  args: [usdc, parseUnits(amount, 6).toString(), tell],
})

const usdcOf = (owner: Address) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [owner] })

describe('a simulation a contract cannot tell from execution (ADVERSARIAL 46)', () => {
  let g: Awaited<ReturnType<typeof gateway>>
  beforeAll(async () => {
    g = await gateway({
      version: 1,
      rules: [
        {
          id: 'puller',
          effect: 'allow',
          match: { operation: ['write_contract'], contract: [puller] },
          limits: [{ id: 'usdc-day', metric: 'outflow', token: usdc, window: '24h', max: '1000' }],
        },
      ],
    })
  })
  afterAll(() => g.close())

  it.each(Object.entries(tells).filter(([name]) => name !== 'ARMED'))(
    'no tell by %s: the simulation shows what execution takes',
    async (_name, tell) => {
      // 1 USDC asked; a contract that spots the simulation takes 1 there and 100 for real. The gateway's
      // simulation (the preview and the write's own) must see the 100, so nothing moves beyond the check.
      const preview = ok(await g.call('simulate', { tool: 'write_contract', arguments: pull('1', tell) }))
      const delta = (preview.simulation.deltas as { token?: string; raw: string }[]).find(
        (d) => d.token?.toLowerCase() === usdc.toLowerCase(),
      )
      expect(delta?.raw).toBe((-parseUnits('100', 6)).toString())
      const before = await usdcOf(signer.address)
      const sent = ok(await g.call('write_contract', { ...pull('1', tell), wait: true }))
      expect(sent.status).toBe('mined')
      expect(before - (await usdcOf(signer.address))).toBe(parseUnits('100', 6))
      expect(sent.settlement.excess).toEqual([])
      expect((await g.operator.killSwitch.state()).engaged).toBe(false)
    },
  )
})

describe('limits settle on what actually moved (ADVERSARIAL 46, 47)', () => {
  it('a contract that takes 100x once mined is charged what it took, the kill switch engages and the audit says why', async () => {
    const g = await gateway(pullPolicy('allow'))
    try {
      // The outside world changes between the check and the block: the puller is armed right after signing.
      afterSign = async () => {
        await sendAs(1, {
          to: puller,
          data: encodeFunctionData({ abi: pullerAbi, functionName: 'arm', args: [true] }),
        })
      }
      const before = await usdcOf(signer.address)
      const sent = ok(await g.call('write_contract', { ...pull('10', tells.ARMED), wait: true }))
      expect(sent.status).toBe('mined')
      // It took 1,000 USDC under a 100 USDC budget: the loss is real (on chain) and is what the limits count.
      expect(before - (await usdcOf(signer.address))).toBe(parseUnits('1000', 6))
      expect(sent.settlement.excess).toEqual([
        expect.objectContaining({ asset: usdc.toLowerCase(), moved: '1000000000', checked: '10000000' }),
      ])
      const limits = ok(await g.call('get_limits', { chain: 'devnet' }))
      const budget = (limits.limits as { limit: string; used: string }[]).find((l) => l.limit === 'usdc-day')
      expect(budget?.used).toBe('1000')
      const kill = await g.operator.killSwitch.state()
      expect(kill.engaged).toBe(true)
      expect(kill.reason).toContain(sent.intentId)
      expect(kill.reason?.toLowerCase()).toContain(puller.toLowerCase())
      const entries = await g.operator.audit.read({ newestFirst: true, limit: 1000 })
      const breach = entries.find((e) => e.kind === 'intent.breach' && e.intentId === sent.intentId)
      expect(breach?.data).toMatchObject({ contract: getAddress(puller) })
      // The operator sees it where approvals are listed (airlock approvals, GET /admin/approvals).
      expect((await g.operator.breaches()).map((b) => b.intentId)).toContain(sent.intentId)
      // Nothing more goes out while it is engaged.
      const next = err(await g.call('write_contract', pull('1', tells.ARMED)))
      expect(next.code).toBe('KILL_SWITCH_ENGAGED')
      const shown = ok(await g.call('get_intent', { intentId: sent.intentId }))
      expect(shown.settlement.excess).toHaveLength(1)
    } finally {
      await sendAs(1, {
        to: puller,
        data: encodeFunctionData({ abi: pullerAbi, functionName: 'arm', args: [false] }),
      })
      await g.close()
    }
  })

  it('a held write a human approved that then moves more than the human saw: the same breach', async () => {
    const g = await gateway(pullPolicy('require_approval'))
    try {
      const held = ok(await g.call('write_contract', pull('5', tells.ARMED)))
      expect(held.status).toBe('held')
      // The approver saw 5 USDC leaving.
      expect(JSON.stringify(held.approval.simulation)).toContain('-5000000')
      afterSign = async () => {
        await sendAs(1, {
          to: puller,
          data: encodeFunctionData({ abi: pullerAbi, functionName: 'arm', args: [true] }),
        })
      }
      const before = await usdcOf(signer.address)
      await g.operator.approvals.decide(held.intentId, 'approved', 'test-operator', {
        expectHash: held.approval.intentHash,
      })
      await g.operator.maintain()
      const done = ok(await g.call('get_intent', { intentId: held.intentId }))
      expect(done.status).toBe('mined')
      expect(before - (await usdcOf(signer.address))).toBe(parseUnits('500', 6))
      await g.operator.maintain()
      const kill = await g.operator.killSwitch.state()
      expect(kill.engaged).toBe(true)
      expect(kill.reason).toContain(held.intentId)
      const shown = ok(await g.call('get_intent', { intentId: held.intentId }))
      expect(shown.settlement.excess[0]).toMatchObject({ moved: '500000000', checked: '5000000' })
    } finally {
      await sendAs(1, {
        to: puller,
        data: encodeFunctionData({ abi: pullerAbi, functionName: 'arm', args: [false] }),
      })
      await g.close()
    }
  })
})

describe('hostile tokens', () => {
  it('a token whose balanceOf disagrees with its Transfer logs: the larger outflow counts (ADVERSARIAL 48)', async () => {
    const g = await gateway({
      version: 1,
      rules: [
        {
          id: 'lie',
          effect: 'allow',
          match: { operation: ['transfer'] },
          limits: [{ id: 'lie-out', metric: 'outflow', token: lying, window: '24h', max: '50' }],
        },
      ],
    })
    try {
      // balanceOf says nothing leaves; the logs say 80 does. 80 > 50: denied, nothing moves.
      const denied = err(await g.call('transfer', { chain: 'devnet', to: alice, amount: '80', token: lying }))
      expect(denied.code).toBe('LIMIT_EXCEEDED')
      const received = await viem.readContract({
        address: lying,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [alice],
      })
      expect(received).toBe(0n)
      const sent = ok(
        await g.call('transfer', { chain: 'devnet', to: alice, amount: '30', token: lying, wait: true }),
      )
      expect(sent.status).toBe('mined')
      expect(sent.settlement.outflows[lying.toLowerCase()]).toBe('30000000')
    } finally {
      await g.close()
    }
  })

  it('a token without decimals() under an amount limit is refused, never assumed 18 (ADVERSARIAL 49)', async () => {
    const g = await gateway({
      version: 1,
      rules: [
        {
          id: 'any',
          effect: 'allow',
          match: { operation: ['write_contract'], contract: [noDecimals] },
          limits: [{ id: 'usd-day', metric: 'outflowUsd', window: '24h', max: '100' }],
        },
        {
          id: 'nodec',
          effect: 'allow',
          match: { operation: ['write_contract'], contract: [noDecimals] },
          limits: [{ id: 'nodec-out', metric: 'outflow', token: noDecimals, window: '24h', max: '1000000' }],
        },
      ],
    })
    try {
      const before = await viem.readContract({
        address: noDecimals,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [signer.address],
      })
      const refused = err(
        await g.call('write_contract', {
          chain: 'devnet',
          address: noDecimals,
          function: 'transfer(address to, uint256 value)',
          args: [alice, '5'],
        }),
      )
      expect(refused.code).toBe('POLICY_DENIED')
      expect(refused.message).toMatch(/decimals/)
      const after = await viem.readContract({
        address: noDecimals,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [signer.address],
      })
      expect(after).toBe(before)
    } finally {
      await g.close()
    }
  })
})

describe('batches meet the same refusals as direct calls (ADVERSARIAL 50)', () => {
  it('transfer to the token itself, through write_contract or inside a multicall, is refused', async () => {
    const dai = fixtures.tokens.DAI.address
    const g = await gateway({ version: 1, rules: [{ id: 'all', effect: 'allow', match: {} }] })
    try {
      const before = await usdcOf(usdc)
      const direct = err(
        await g.call('write_contract', {
          chain: 'devnet',
          address: usdc,
          function: 'transfer(address to, uint256 value)',
          args: [usdc, '1000000'],
        }),
      )
      expect(direct.code).toBe('POLICY_DENIED')
      expect(direct.message).toMatch(/token contract itself/)
      const inner = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [dai, 1n] })
      const zero = encodeFunctionData({
        abi: erc20Abi,
        functionName: 'transfer',
        args: ['0x0000000000000000000000000000000000000000', 1n],
      })
      for (const calls of [[inner], [zero]]) {
        const wrapped = err(
          await g.call('write_contract', {
            chain: 'devnet',
            address: dai,
            function: 'multicall(bytes[] data)',
            args: [calls],
          }),
        )
        expect(wrapped.code).toBe('POLICY_DENIED')
      }
      expect(await usdcOf(usdc)).toBe(before)
    } finally {
      await g.close()
    }
  })

  it('a lookalike of an address-book recipient inside a multicall is refused like a direct one', async () => {
    const g = await gateway({ version: 1, rules: [{ id: 'all', effect: 'allow', match: {} }] })
    try {
      const known = fixtures.accounts[2]!
      const lookalike = `${known.slice(0, 6)}${'0'.repeat(32)}${known.slice(-4)}`.toLowerCase() as Address
      await g.operator.addressBook.add({ address: known, label: 'bob', addedBy: 'test' })
      const dai = fixtures.tokens.DAI.address
      const inner = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [lookalike, 1n] })
      const wrapped = err(
        await g.call('write_contract', {
          chain: 'devnet',
          address: dai,
          function: 'multicall(bytes[] data)',
          args: [[inner]],
        }),
      )
      expect(wrapped.code).toBe('POLICY_DENIED')
      expect(wrapped.message).toMatch(/looks like/)
    } finally {
      await g.close()
    }
  })
})

describe('kill switch and broadcast (ADVERSARIAL 37)', () => {
  it('a kill switch engaged while a transaction is being signed: it is never broadcast', async () => {
    const g = await gateway({ version: 1, rules: [{ id: 'all', effect: 'allow', match: {} }] })
    try {
      const nonce = await viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })
      afterSign = async () => {
        await g.operator.killSwitch.engage('stop during signing', 'test')
      }
      const stopped = err(await g.call('transfer', { chain: 'devnet', to: alice, amount: '0.001' }))
      expect(stopped.code).toBe('KILL_SWITCH_ENGAGED')
      // Nothing reached the chain, now or later (the tracker re-sends nothing either).
      await g.operator.maintain()
      expect(await viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })).toBe(nonce)
      const [intent] = (await g.store.db
        .selectFrom('intents')
        .select(['status'])
        .where('operation', '=', 'transfer')
        .orderBy('created_at', 'desc')
        .limit(1)
        .execute()) as { status: string }[]
      expect(intent?.status).toBe('failed')
    } finally {
      await g.close()
    }
  })
})

describe('the automatic kill switch', () => {
  it('counts every refusal of a write: lookalike recipients and exhausted limits as well as rule denials', async () => {
    const g = await gateway(
      {
        version: 1,
        rules: [
          {
            id: 'eth',
            effect: 'allow',
            match: { operation: ['transfer'] },
            limits: [{ id: 'eth-day', metric: 'outflow', token: 'native', window: '24h', max: '0.01' }],
          },
        ],
      },
      { killSwitch: { maxDenials: 3, denialWindowSeconds: 3600 } },
    )
    try {
      const known = fixtures.accounts[2]!
      const lookalike = `${known.slice(0, 6)}${'0'.repeat(32)}${known.slice(-4)}`.toLowerCase()
      await g.operator.addressBook.add({ address: known, label: 'bob', addedBy: 'test' })
      const nonce = await viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })
      for (const attempt of [
        { to: lookalike, amount: '0.001' },
        { to: lookalike, amount: '0.002' },
        { to: alice, amount: '1' },
      ]) {
        const refused = err(await g.call('transfer', { chain: 'devnet', ...attempt }))
        expect(['POLICY_DENIED', 'LIMIT_EXCEEDED']).toContain(refused.code)
      }
      const kill = await g.operator.killSwitch.state()
      expect(kill.engaged).toBe(true)
      expect(kill.reason).toMatch(/3 refused writes/)
      expect(err(await g.call('transfer', { chain: 'devnet', to: alice, amount: '0.001' })).code).toBe(
        'KILL_SWITCH_ENGAGED',
      )
      expect(await viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })).toBe(nonce)
    } finally {
      await g.close()
    }
  })
})
