import {
  type Address,
  concatHex,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  http,
  maxUint256,
  parseAbi,
  parseEther,
  parseUnits,
  toEventSelector,
  zeroHash,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import artifacts from '../contracts/artifacts.json' with { type: 'json' }
import {
  create2Factory,
  delegationCode,
  guardAddress,
  guardCreationCode,
  guardExecutedTopic,
  readGuardStatus,
} from '../src/chains/evm/guard.js'
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'

// Issue 10 end to end: on the devnet the gateway wallet delegates to Airlock's guard (EIP-7702), so every write it
// sends runs through `execute(call, conditions)` and reverts on chain when it would move more than was checked
// (ADVERSARIAL 25, 46, 47). Outcomes are asserted on chain (balances, allowances) and in the store.
const fixtures = useDevnet({ isolate: true })
const chain = devnetChain(fixtures)
const viem = createPublicClient({ chain, transport: http(fixtures.rpcUrl) })
const usdc = fixtures.tokens.USDC.address
const [, alice] = fixtures.accounts as [Address, Address]
const pullerAbi = parseAbi([
  'function pull(address token, uint256 amount, uint8 tell)',
  'function arm(bool on)',
])
const ARMED = 6
const contracts = (artifacts as { contracts: Record<string, { abi: unknown[]; bytecode: Hex }> }).contracts

let signer: Signer
let puller: Address
const stores: Store[] = []
/** Runs once right after the gateway signs a transaction, before it is broadcast (the real world moving on). */
let afterSign: (() => Promise<void>) | undefined

function walletOf(index: number) {
  return createWalletClient({
    account: mnemonicToAccount(devnetMnemonic, { addressIndex: index }),
    chain,
    transport: http(fixtures.rpcUrl),
  })
}

/** Sends a transaction from a devnet account outside the gateway and waits for it. */
async function sendAs(index: number, request: { to: Address; data: Hex }) {
  const hash = await walletOf(index).sendTransaction(request as never)
  return viem.waitForTransactionReceipt({ hash })
}

async function deploy(name: string, args: unknown[] = []): Promise<Address> {
  const a = contracts[name]!
  const hash = await walletOf(1).deployContract({ abi: a.abi, bytecode: a.bytecode, args } as never)
  return (await viem.waitForTransactionReceipt({ hash })).contractAddress as Address
}

/** The devnet starts with the guard deployed and the gateway wallet delegating to it; make sure of it. */
async function ensureGuard(wallet: Address) {
  const code = await viem.getCode({ address: guardAddress })
  if (!code || code === '0x')
    await sendAs(1, { to: create2Factory, data: concatHex([zeroHash, guardCreationCode]) })
  if ((await viem.getCode({ address: wallet })) !== delegationCode(guardAddress)) {
    const owner = walletOf(0)
    const authorization = await owner.signAuthorization({ contractAddress: guardAddress, executor: 'self' })
    const hash = await owner.sendTransaction({ authorizationList: [authorization], to: wallet, data: '0x' })
    await viem.waitForTransactionReceipt({ hash })
  }
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
  } as Signer
  await ensureGuard(real.address)
  puller = await deploy('TellingPuller')
  // An allowance the wallet gave the puller long ago (outside this gateway): what it may take is up to it.
  const hash = await walletOf(0).sendTransaction({
    to: usdc,
    data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [puller, maxUint256] }),
  })
  await viem.waitForTransactionReceipt({ hash })
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

const policy = (effect: 'allow' | 'require_approval') => ({
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
    {
      id: 'payments',
      effect: 'allow',
      match: { operation: ['transfer'] },
      limits: [{ id: 'usdc-pay', metric: 'outflow', token: usdc, window: '24h', max: '1000' }],
    },
  ],
})

const pull = (amount: string) => ({
  chain: 'devnet',
  address: puller,
  function: 'pull(address token, uint256 amount, uint8 tell)',
  args: [usdc, parseUnits(amount, 6).toString(), ARMED],
})

const usdcOf = (owner: Address) =>
  viem.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [owner] })

const arm = (on: boolean) =>
  sendAs(1, { to: puller, data: encodeFunctionData({ abi: pullerAbi, functionName: 'arm', args: [on] }) })

describe('honest writes run through the guard unchanged', () => {
  let g: Awaited<ReturnType<typeof gateway>>
  beforeAll(async () => {
    g = await gateway(policy('allow'))
  })
  afterAll(() => g.close())

  it('the devnet wallet delegates to the guard', async () => {
    expect((await readGuardStatus({ client: viem as never }, signer.address)).mode).toBe('enforced')
    // list_chains says so for the configured chains (the public defaults are not asked).
    const { chains } = ok(await g.call('list_chains', {}))
    const devnet = (chains as { chain: string; guard?: { mode: string } }[]).find((c) => c.chain === 'devnet')
    expect(devnet?.guard?.mode).toBe('enforced')
    expect(
      (chains as { chain: string; guard?: unknown }[]).find((c) => c.chain === 'ethereum')?.guard,
    ).toBeUndefined()
  })

  it('a USDC transfer is the wallet calling itself with the transfer and its conditions', async () => {
    const before = await usdcOf(alice)
    const sent = ok(
      await g.call('transfer', { chain: 'devnet', to: alice, token: usdc, amount: '12.5', wait: true }),
    )
    expect(sent.status).toBe('mined')
    expect(sent.receipt.status).toBe('success')
    expect((await usdcOf(alice)) - before).toBe(parseUnits('12.5', 6))
    const tx = await viem.getTransaction({ hash: sent.txHash })
    expect(tx.to?.toLowerCase()).toBe(signer.address.toLowerCase())
    // The wallet's code (the guard) says it ran the call: Executed().
    const receipt = await viem.getTransactionReceipt({ hash: sent.txHash })
    expect(
      receipt.logs.some(
        (l) => l.address.toLowerCase() === signer.address.toLowerCase() && l.topics[0] === guardExecutedTopic,
      ),
    ).toBe(true)
    expect(guardExecutedTopic).toBe(toEventSelector('Executed()'))
    expect(sent.guard.address).toBe(guardAddress)
    expect(sent.guard.conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: '0' },
      { kind: 'tokenMaxOutflow', token: usdc.toLowerCase(), amount: '12500000' },
    ])
    // The audit's "signed" entry carries the conditions with the decision.
    const entries = await g.operator.audit.read({ newestFirst: true, limit: 200 })
    const signed = entries.find(
      (e) => e.intentId === sent.intentId && JSON.stringify(e.data).includes('postConditions'),
    )
    expect(signed).toBeDefined()
  })

  it('16 USDC transfers at once all run through the guard and mine (no condition tripped by the others)', async () => {
    const before = await usdcOf(alice)
    const sent = await Promise.all(
      Array.from({ length: 16 }, async () =>
        ok(await g.call('transfer', { chain: 'devnet', to: alice, token: usdc, amount: '0.5', wait: true })),
      ),
    )
    for (const s of sent) {
      expect(s.receipt.status).toBe('success')
      // Each is bounded by at least its own amount (a simulation that saw another of them land may bound it
      // more loosely, never more tightly).
      const usdcBound = (s.guard.conditions as { kind: string; token?: string; amount: string }[]).find(
        (c) => c.kind === 'tokenMaxOutflow' && c.token === usdc.toLowerCase(),
      )
      expect(BigInt(usdcBound?.amount ?? '0')).toBeGreaterThanOrEqual(500_000n)
    }
    expect((await usdcOf(alice)) - before).toBe(parseUnits('8', 6))
  })

  it('ETH to a never-used address fits the gas the guard is given', async () => {
    const fresh = '0x00000000000000000000000000000000000a1b2c' as Address
    const sent = ok(await g.call('transfer', { chain: 'devnet', to: fresh, amount: '0.25', wait: true }))
    expect(sent.receipt.status).toBe('success')
    expect(await viem.getBalance({ address: fresh })).toBe(parseEther('0.25'))
    expect(sent.guard.conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: parseEther('0.25').toString() },
    ])
  })

  it("a call into the wallet itself (its guard's execute, a batch) is refused before anything runs", async () => {
    const denied = err(
      await g.call('write_contract', {
        chain: 'devnet',
        address: signer.address,
        function:
          'execute((address,uint256,bytes)[] calls, (uint8,address,address,uint256,uint256)[] conditions)',
        args: [[[usdc, '0', '0x']], []],
      }),
    )
    expect(denied.code).toBe('POLICY_DENIED')
    expect(denied.message).toContain('a call into the gateway wallet itself')
  })

  it('a delegation removed before the block: the write is mined without effect, and the caller is told so', async () => {
    const before = await usdcOf(alice)
    const budgets = ok(await g.call('get_limits', { chain: 'devnet' })).limits as {
      limit: string
      used: string
    }[]
    const usedBefore = budgets.find((l) => l.limit === 'usdc-pay')?.used
    afterSign = () =>
      jsonRpc(fixtures.rpcUrl, [{ method: 'anvil_setCode', params: [signer.address, '0x'] }]).then(
        () => undefined,
      )
    try {
      const failed = err(
        await g.call('transfer', { chain: 'devnet', to: alice, token: usdc, amount: '2', wait: true }),
      )
      expect(failed.code).toBe('PRECONDITION_FAILED')
      expect(failed.message).toContain('did not run')
      expect(await usdcOf(alice)).toBe(before)
      // Nothing moved, so nothing is charged.
      const limits = ok(await g.call('get_limits', { chain: 'devnet' }))
      const budget = (limits.limits as { limit: string; used: string }[]).find((l) => l.limit === 'usdc-pay')
      expect(budget?.used).toBe(usedBefore)
    } finally {
      afterSign = undefined
      await ensureGuard(signer.address)
    }
  })

  it('a stopped contract that only the simulation reveals (a token a contract pulls) refuses the write too', async () => {
    await g.operator.killSwitch.stopContract(fixtures.chainId, usdc, 'test: stopped', 'test-operator')
    try {
      const before = await usdcOf(signer.address)
      const refused = err(
        await g.call('write_contract', {
          chain: 'devnet',
          address: puller,
          function: 'pull(address token, uint256 amount, uint8 tell)',
          args: [usdc, '1000000', 0],
          wait: true,
        }),
      )
      expect(refused.code).toBe('KILL_SWITCH_ENGAGED')
      expect(refused.message.toLowerCase()).toContain(usdc.toLowerCase())
      expect(await usdcOf(signer.address)).toBe(before)
    } finally {
      await g.operator.killSwitch.releaseContract(fixtures.chainId, usdc, 'test-operator')
    }
  })

  it('unsigned mode hands out the plain call: the external wallet decides', async () => {
    const out = ok(
      await g.call('transfer', { chain: 'devnet', to: alice, token: usdc, amount: '1', mode: 'unsigned' }),
    )
    expect(out.unsignedTransaction.to.toLowerCase()).toBe(usdc.toLowerCase())
    expect(out.guard).toBeUndefined()
  })
})

describe('a write that would move more than was checked reverts on chain (ADVERSARIAL 46, 47)', () => {
  it('a contract that takes 100x once mined: POSTCONDITION_FAILED, nothing moved, nothing charged, that contract stopped', async () => {
    const g = await gateway(policy('allow'))
    try {
      afterSign = () => arm(true).then(() => undefined)
      const before = await usdcOf(signer.address)
      const failed = err(await g.call('write_contract', { ...pull('10'), wait: true }))
      expect(failed.code).toBe('POSTCONDITION_FAILED')
      expect(failed.message.toLowerCase()).toContain(usdc.toLowerCase())
      expect(await usdcOf(signer.address)).toBe(before)
      const intentId = /Intent (\S+) was mined reverted/.exec(JSON.stringify(failed))?.[1]
      expect(intentId).toBeDefined()
      const shown = ok(await g.call('get_intent', { intentId }))
      expect(shown.receipt.status).toBe('reverted')
      expect(shown.error.code).toBe('POSTCONDITION_FAILED')
      expect(shown.settlement.postcondition).toMatchObject({
        kind: 'tokenMaxOutflow',
        token: usdc,
        bound: '10000000',
        actual: '1000000000',
      })
      // Nothing moved, so nothing is charged to the budget.
      const limits = ok(await g.call('get_limits', { chain: 'devnet' }))
      const budget = (limits.limits as { limit: string; used: string }[]).find((l) => l.limit === 'usdc-day')
      expect(budget?.used).toBe('0')
      const entries = await g.operator.audit.read({ newestFirst: true, limit: 500 })
      expect(entries.some((e) => e.kind === 'intent.postcondition_failed' && e.intentId === intentId)).toBe(
        true,
      )
      // That contract is stopped (get_limits says so); the gateway as a whole is not.
      expect((await g.operator.killSwitch.state()).engaged).toBe(false)
      const after = ok(await g.call('get_limits', { chain: 'devnet' }))
      expect(after.stoppedContracts).toEqual([{ address: puller.toLowerCase(), since: expect.any(String) }])
      expect(after.guard.mode).toBe('enforced')
      await arm(false)
      const next = err(await g.call('write_contract', pull('1')))
      expect(next.code).toBe('KILL_SWITCH_ENGAGED')
      expect(await usdcOf(signer.address)).toBe(before)
      const paid = ok(
        await g.call('transfer', { chain: 'devnet', to: alice, token: usdc, amount: '1', wait: true }),
      )
      expect(paid.receipt.status).toBe('success')
    } finally {
      await arm(false)
      await g.close()
    }
  })

  it('a held write a human approved that then takes more than the human saw reverts the same way', async () => {
    const g = await gateway(policy('require_approval'))
    try {
      const held = ok(await g.call('write_contract', pull('5')))
      expect(held.status).toBe('held')
      expect(JSON.stringify(held.approval.simulation)).toContain('-5000000')
      afterSign = () => arm(true).then(() => undefined)
      const before = await usdcOf(signer.address)
      await g.operator.approvals.decide(held.intentId, 'approved', 'test-operator', {
        expectHash: held.approval.intentHash,
      })
      await g.operator.maintain()
      const done = ok(await g.call('get_intent', { intentId: held.intentId }))
      expect(done.status).toBe('mined')
      expect(done.receipt.status).toBe('reverted')
      expect(await usdcOf(signer.address)).toBe(before)
      await g.operator.maintain()
      const shown = ok(await g.call('get_intent', { intentId: held.intentId }))
      expect(shown.error.code).toBe('POSTCONDITION_FAILED')
      expect(shown.guard.conditions).toContainEqual({
        kind: 'tokenMaxOutflow',
        token: usdc.toLowerCase(),
        amount: '5000000',
      })
    } finally {
      await arm(false)
      await g.close()
    }
  })
})

describe('the attacks of ADVERSARIAL 25, 46 and 47 revert on the devnet and move nothing', () => {
  const erc20 = parseAbi([
    'function approve(address spender, uint256 value) returns (bool)',
    'function allowance(address owner, address spender) view returns (uint256)',
    'function balanceOf(address owner) view returns (uint256)',
    'function arm(bool on)',
    'function upgradeTo(address implementation)',
  ])
  const allow = (contracts: Address[]) => ({
    version: 1,
    rules: [
      ...(contracts.length
        ? [
            {
              id: 'contracts',
              effect: 'allow',
              match: { operation: ['write_contract'], contract: contracts },
            },
          ]
        : []),
      { id: 'others', effect: 'allow', match: { operation: ['transfer', 'approve'] } },
    ],
  })
  const pullArgs = (contract: Address, amount: string) => ({
    chain: 'devnet',
    address: contract,
    function: 'pull(address token, uint256 amount)',
    args: [usdc, parseUnits(amount, 6).toString()],
  })
  const approveUsdc = (spender: Address) =>
    sendAs(0, {
      to: usdc,
      data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, maxUint256] }),
    })

  /** Sends a write whose contract turns hostile between signing and its block; asserts the guard's revert. */
  async function reverted(
    contracts: Address[],
    tool: string,
    args: Record<string, unknown>,
    turn: () => Promise<unknown>,
    kind: string,
  ) {
    const g = await gateway(allow(contracts))
    try {
      afterSign = () => turn().then(() => undefined)
      const failed = err(await g.call(tool, { ...args, wait: true }))
      expect(failed.code).toBe('POSTCONDITION_FAILED')
      const intentId = /Intent (\S+) was mined reverted/.exec(JSON.stringify(failed))?.[1]
      const shown = ok(await g.call('get_intent', { intentId }))
      expect(shown.settlement.postcondition.kind).toBe(kind)
      return shown
    } finally {
      afterSign = undefined
      await g.close()
    }
  }

  it('a contract that takes more from a block number on (checked one block before)', async () => {
    const head = await viem.getBlockNumber({ cacheTime: 0 })
    // Deployed in head+1, approved in head+2; the write is simulated for head+3, and a block mined after signing
    // makes it land in head+4, from which the contract takes 100x.
    const bomb = await deploy('TimeBombPuller', [head + 4n, maxUint256])
    await approveUsdc(bomb)
    expect(await viem.getBlockNumber({ cacheTime: 0 })).toBe(head + 2n)
    const before = await usdcOf(signer.address)
    await reverted(
      [bomb],
      'write_contract',
      pullArgs(bomb, '2'),
      () => jsonRpc(fixtures.rpcUrl, [{ method: 'evm_mine' }]),
      'tokenMaxOutflow',
    )
    expect(await usdcOf(signer.address)).toBe(before)
    expect(await usdcOf(bomb)).toBe(0n)
  })

  it('a proxy whose implementation is swapped between the check and the block', async () => {
    const honest = await deploy('HonestPullImpl')
    const greedy = await deploy('GreedyPullImpl')
    const proxy = await deploy('SwappableProxy', [honest])
    await approveUsdc(proxy)
    const before = await usdcOf(signer.address)
    await reverted(
      [proxy],
      'write_contract',
      pullArgs(proxy, '3'),
      () =>
        sendAs(1, {
          to: proxy,
          data: encodeFunctionData({ abi: erc20, functionName: 'upgradeTo', args: [greedy] }),
        }),
      'tokenMaxOutflow',
    )
    expect(await usdcOf(signer.address)).toBe(before)
    expect(await usdcOf(proxy)).toBe(0n)
  })

  it('a re-entrant token that pulls more than the transfer declared', async () => {
    const token = await deploy('ReentrantToken', [signer.address, parseUnits('1000', 18)])
    const balance = () =>
      viem.readContract({ address: token, abi: erc20, functionName: 'balanceOf', args: [signer.address] })
    const before = await balance()
    await reverted(
      [],
      'transfer',
      // Not to its owner (account 1), whom it spares.
      { chain: 'devnet', to: fixtures.accounts[2], token, amount: '1' },
      () =>
        sendAs(1, { to: token, data: encodeFunctionData({ abi: erc20, functionName: 'arm', args: [true] }) }),
      'tokenMaxOutflow',
    )
    expect(await balance()).toBe(before)
  })

  it('an approval raised inside the call beyond what was approved', async () => {
    const token = await deploy('RaisingApproveToken', [signer.address, parseUnits('1000', 18)])
    const shown = await reverted(
      [],
      'approve',
      { chain: 'devnet', token, spender: alice, amount: '10' },
      () =>
        sendAs(1, { to: token, data: encodeFunctionData({ abi: erc20, functionName: 'arm', args: [true] }) }),
      'maxAllowance',
    )
    expect(shown.settlement.postcondition).toMatchObject({
      bound: parseUnits('10', 18).toString(),
      actual: parseUnits('1000', 18).toString(),
    })
    expect(
      await viem.readContract({
        address: token,
        abi: erc20,
        functionName: 'allowance',
        args: [signer.address, alice],
      }),
    ).toBe(0n)
  })
})
