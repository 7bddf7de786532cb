import {
  type Address,
  createPublicClient,
  encodeErrorResult,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  http,
  keccak256,
  maxUint256,
  parseAbi,
  parseEther,
  parseUnits,
  toHex,
  zeroAddress,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { beforeAll, describe, expect, it } from 'vitest'
import { delegateToGuard, deployArtifact, deployGuard, devnetWallet } from '../bench/guardGas.js'
import artifacts from '../contracts/artifacts.json' with { type: 'json' }
import {
  conditionKinds,
  decodeGuardRevert,
  delegationCode,
  guardAbi,
  guardAddress,
  type PostCondition,
} from '../src/chains/evm/guard.js'
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { useDevnet } from './devnet.js'

// The guard contract itself (contracts/AirlockGuard.sol, DESIGN §11, issue 10), run as the delegated code of a
// devnet account of its own (7, delegated here with a real EIP-7702 authorization), and the attack contracts of
// contracts/GuardAttacks.sol (ADVERSARIAL 25, 46, 47) against it. Every failure is a mined, reverted transaction:
// its revert data is decoded, and the wallet's balances on chain are what they were (less the gas).
const fixtures = useDevnet({ isolate: true })
const chain = devnetChain(fixtures)
const client = createPublicClient({ chain, transport: http(fixtures.rpcUrl), cacheTime: 0 })
const walletIndex = 7
const walletClient = devnetWallet(fixtures, walletIndex, chain)
const owner = devnetWallet(fixtures, 1, chain) // deploys, owns and arms the attack contracts; holds USDC
const stranger = devnetWallet(fixtures, 2, chain)
const usdc = fixtures.tokens.USDC.address
const weth = fixtures.tokens.WETH.address
const recipient = fixtures.accounts[8] as Address
const usd = (v: string) => parseUnits(v, 6)

const nftAbi = parseAbi([
  'function mint(address to, uint256 id)',
  'function ownerOf(uint256 id) view returns (address)',
  'function safeTransferFrom(address from, address to, uint256 id)',
  'function transferFrom(address from, address to, uint256 id)',
  'function setApprovalForAll(address operator, bool approved)',
])
const multiAbi = parseAbi([
  'function mint(address to, uint256 id, uint256 amount)',
  'function balanceOf(address owner, uint256 id) view returns (uint256)',
  'function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes data)',
  'function safeBatchTransferFrom(address from, address to, uint256[] ids, uint256[] amounts, bytes data)',
])
const attackAbi = parseAbi([
  'function pull(address token, uint256 amount)',
  'function arm(bool on)',
  'function upgradeTo(address implementation)',
  'function forward(address to) payable',
  'function transfer(address to, uint256 value) returns (bool)',
  'function approve(address spender, uint256 value) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
])
const tellingAbi = parseAbi([
  'function pull(address token, uint256 amount, uint8 tell)',
  'function arm(bool on)',
])
const erc20Errors = parseAbi([
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
])
const erc1271Abi = parseAbi([
  'function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)',
])

let wallet: Address
let nft: Address
let multi: Address
let noBalanceOf: Address

type Call = { to: Address; data?: Hex; value?: bigint }
/** A condition as the contract takes it; `kind` may be a number no kind has (to test UnknownCondition). */
type RawCondition = Omit<PostCondition, 'kind'> & { kind: PostCondition['kind'] | number }

function executeData(calls: readonly Call[], conditions: readonly RawCondition[]): Hex {
  return encodeFunctionData({
    abi: guardAbi,
    functionName: 'execute',
    args: [
      calls.map((c) => ({ target: c.to, value: c.value ?? 0n, data: c.data ?? '0x' })),
      conditions.map((c) => ({
        kind: typeof c.kind === 'number' ? c.kind : conditionKinds[c.kind],
        token: c.token ?? zeroAddress,
        spender: c.spender ?? zeroAddress,
        id: c.id ?? 0n,
        amount: c.amount,
      })),
    ],
  })
}

const erc20Call = (
  token: Address,
  functionName: 'transfer' | 'approve',
  to: Address,
  amount: bigint,
): Call => ({
  to: token,
  data: encodeFunctionData({ abi: erc20Abi, functionName, args: [to, amount] }),
})
const native = (amount: bigint): RawCondition => ({ kind: 'nativeMaxOutflow', amount })
const maxOut = (token: Address, amount: bigint): RawCondition => ({ kind: 'tokenMaxOutflow', token, amount })

/** What a mined transaction did: its status, gas paid, and the revert data of its top frame (if it reverted). */
async function mined(hash: Hex) {
  const receipt = await client.waitForTransactionReceipt({ hash })
  let output: Hex | undefined
  if (receipt.status === 'reverted') {
    const [trace] = (await jsonRpc(fixtures.rpcUrl, [
      { method: 'debug_traceTransaction', params: [hash, { tracer: 'callTracer' }] },
    ])) as [{ output?: Hex }]
    output = trace.output
  }
  return { receipt, fee: receipt.gasUsed * receipt.effectiveGasPrice, output }
}

/** The wallet sends `execute(calls, conditions)` to itself with a fixed gas limit, so a failure is mined. */
async function guarded(calls: readonly Call[], conditions: readonly RawCondition[]) {
  const hash = await walletClient.sendTransaction({
    to: wallet,
    data: executeData(calls, conditions),
    gas: 3_000_000n,
  })
  return mined(hash)
}

/** The wallet's holdings a test watches (ETH, USDC, WETH, the test collections), read in one go. */
async function holdings(extra: { token: Address; of?: Address }[] = []) {
  const [eth, ...rest] = await Promise.all([
    client.getBalance({ address: wallet }),
    ...[usdc, weth, ...extra.map((e) => e.token)].map((token, i) =>
      client.readContract({
        address: token,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [extra[i - 2]?.of ?? wallet],
      }),
    ),
    client.readContract({ address: multi, abi: multiAbi, functionName: 'balanceOf', args: [wallet, 1n] }),
    client.readContract({ address: nft, abi: nftAbi, functionName: 'ownerOf', args: [1n] }),
  ])
  return { eth: eth as bigint, rest }
}

/** Runs a guarded write that must fail: returns the decoded reason, after checking nothing moved but the gas. */
async function expectGuardRevert(
  calls: readonly Call[],
  conditions: readonly RawCondition[],
  extra: { token: Address; of?: Address }[] = [],
) {
  const before = await holdings(extra)
  const { receipt, fee, output } = await guarded(calls, conditions)
  expect(receipt.status).toBe('reverted')
  const after = await holdings(extra)
  expect(after.rest).toEqual(before.rest)
  expect(after.eth).toBe(before.eth - fee)
  return { output, reason: decodeGuardRevert(output) }
}

async function expectPasses(calls: readonly Call[], conditions: readonly RawCondition[]) {
  const { receipt } = await guarded(calls, conditions)
  expect(receipt.status).toBe('success')
}

async function send(from: typeof owner, request: { to: Address; data?: Hex; value?: bigint }) {
  const { receipt } = await mined(await from.sendTransaction(request))
  expect(receipt.status).toBe('success')
  return receipt
}

beforeAll(async () => {
  await deployGuard(fixtures, 1)
  wallet = await delegateToGuard(fixtures, walletIndex)
  expect((await client.getCode({ address: wallet }))?.toLowerCase()).toBe(delegationCode(guardAddress))
  await send(owner, erc20Call(usdc, 'transfer', wallet, usd('1000')))
  nft = await deployArtifact(fixtures, 1, 'GuardTestNFT')
  multi = await deployArtifact(fixtures, 1, 'GuardTestMulti')
  noBalanceOf = await deployArtifact(fixtures, 1, 'StipendSender')
  await send(owner, {
    to: nft,
    data: encodeFunctionData({ abi: nftAbi, functionName: 'mint', args: [wallet, 1n] }),
  })
  // ERC-1155 mints call the receiver hook: the delegated wallet must answer it.
  await send(owner, {
    to: multi,
    data: encodeFunctionData({ abi: multiAbi, functionName: 'mint', args: [wallet, 1n, 10n] }),
  })
})

describe('every condition kind passes when kept and fails with its reason when broken', () => {
  it('nativeMaxOutflow: the wallet’s ETH leaving (gas not counted)', async () => {
    const value = parseEther('0.01')
    const before = await client.getBalance({ address: recipient })
    await expectPasses([{ to: recipient, value }], [native(value)])
    expect(await client.getBalance({ address: recipient })).toBe(before + value)
    const { reason } = await expectGuardRevert([{ to: recipient, value }], [native(value - 1n)])
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'nativeMaxOutflow',
      token: zeroAddress,
      bound: value - 1n,
      actual: value,
    })
  })

  it('tokenMaxOutflow: an ERC-20 leaving', async () => {
    const transfer = erc20Call(usdc, 'transfer', recipient, usd('5'))
    await expectPasses([transfer], [native(0n), maxOut(usdc, usd('5'))])
    const { reason } = await expectGuardRevert([transfer], [native(0n), maxOut(usdc, usd('5') - 1n)])
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 1,
      kind: 'tokenMaxOutflow',
      token: usdc,
      bound: usd('5') - 1n,
      actual: usd('5'),
    })
  })

  it('tokenMinInflow: an ERC-20 arriving (ETH wrapped into WETH)', async () => {
    const value = parseEther('0.002')
    const deposit: Call = {
      to: weth,
      value,
      data: encodeFunctionData({ abi: parseAbi(['function deposit() payable']), functionName: 'deposit' }),
    }
    await expectPasses([deposit], [native(value), { kind: 'tokenMinInflow', token: weth, amount: value }])
    const { reason } = await expectGuardRevert(
      [deposit],
      [native(value), { kind: 'tokenMinInflow', token: weth, amount: value + 1n }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 1,
      kind: 'tokenMinInflow',
      token: weth,
      bound: value + 1n,
      actual: value,
    })
  })

  it('nativeMinInflow: ETH arriving (WETH unwrapped)', async () => {
    const value = parseEther('0.002')
    const wethAbi = parseAbi(['function deposit() payable', 'function withdraw(uint256 wad)'])
    await expectPasses(
      [{ to: weth, value, data: encodeFunctionData({ abi: wethAbi, functionName: 'deposit' }) }],
      [native(value)],
    )
    const withdraw = (amount: bigint): Call => ({
      to: weth,
      data: encodeFunctionData({ abi: wethAbi, functionName: 'withdraw', args: [amount] }),
    })
    await expectPasses([withdraw(value / 2n)], [native(0n), { kind: 'nativeMinInflow', amount: value / 2n }])
    const { reason } = await expectGuardRevert(
      [withdraw(value / 4n)],
      [native(0n), { kind: 'nativeMinInflow', amount: value / 2n }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 1,
      kind: 'nativeMinInflow',
      token: zeroAddress,
      bound: value / 2n,
      actual: value / 4n,
    })
  })

  it('a call to the wallet itself is refused: execute does not nest', async () => {
    const inner = executeData([erc20Call(usdc, 'transfer', recipient, usd('1'))], [])
    const { reason } = await expectGuardRevert([{ to: wallet, data: inner }], [native(0n), maxOut(usdc, 0n)])
    expect(reason).toEqual({ error: 'CallToWallet', index: 0 })
  })

  it('maxAllowance: what a spender may take afterwards', async () => {
    const spender = fixtures.accounts[5] as Address
    await expectPasses(
      [erc20Call(usdc, 'approve', spender, usd('7'))],
      [{ kind: 'maxAllowance', token: usdc, spender, amount: usd('7') }],
    )
    const { reason } = await expectGuardRevert(
      [erc20Call(usdc, 'approve', spender, usd('8'))],
      [{ kind: 'maxAllowance', token: usdc, spender, amount: usd('7') }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'maxAllowance',
      token: usdc,
      bound: usd('7'),
      actual: usd('8'),
    })
    expect(await allowance(usdc, spender)).toBe(usd('7'))
  })

  it('multiMaxOutflow: an ERC-1155 id leaving', async () => {
    const out = (amount: bigint): Call => ({
      to: multi,
      data: encodeFunctionData({
        abi: multiAbi,
        functionName: 'safeTransferFrom',
        args: [wallet, recipient, 1n, amount, '0x'],
      }),
    })
    await expectPasses([out(3n)], [{ kind: 'multiMaxOutflow', token: multi, id: 1n, amount: 3n }])
    const { reason } = await expectGuardRevert(
      [out(3n)],
      [{ kind: 'multiMaxOutflow', token: multi, id: 1n, amount: 2n }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'multiMaxOutflow',
      token: multi,
      bound: 2n,
      actual: 3n,
    })
  })

  it('multiMinInflow: an ERC-1155 id arriving', async () => {
    const mint: Call = {
      to: multi,
      data: encodeFunctionData({ abi: multiAbi, functionName: 'mint', args: [wallet, 2n, 5n] }),
    }
    await expectPasses([mint], [{ kind: 'multiMinInflow', token: multi, id: 2n, amount: 5n }])
    const { reason } = await expectGuardRevert(
      [mint],
      [{ kind: 'multiMinInflow', token: multi, id: 2n, amount: 6n }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'multiMinInflow',
      token: multi,
      bound: 6n,
      actual: 5n,
    })
  })

  it('nftOwned: the wallet still owns an ERC-721 afterwards (bound: the id, actual: the owner)', async () => {
    await expectPasses([], [{ kind: 'nftOwned', token: nft, id: 1n, amount: 1n }])
    const away: Call = {
      to: nft,
      data: encodeFunctionData({ abi: nftAbi, functionName: 'transferFrom', args: [wallet, recipient, 1n] }),
    }
    const { reason } = await expectGuardRevert([away], [{ kind: 'nftOwned', token: nft, id: 1n, amount: 1n }])
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'nftOwned',
      token: nft,
      bound: 1n,
      actual: BigInt(recipient),
    })
  })

  it('noOperator: no operator is approved for a whole collection afterwards', async () => {
    const operator = fixtures.accounts[6] as Address
    const approveAll = (on: boolean): Call => ({
      to: nft,
      data: encodeFunctionData({ abi: nftAbi, functionName: 'setApprovalForAll', args: [operator, on] }),
    })
    await expectPasses(
      [approveAll(false)],
      [{ kind: 'noOperator', token: nft, spender: operator, amount: 0n }],
    )
    const { reason } = await expectGuardRevert(
      [approveAll(true)],
      [{ kind: 'noOperator', token: nft, spender: operator, amount: 0n }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'noOperator',
      token: nft,
      bound: 0n,
      actual: 1n,
    })
  })

  it('several calls run in order before the conditions; the first broken condition is the one reported', async () => {
    const { reason } = await expectGuardRevert(
      [erc20Call(usdc, 'transfer', recipient, usd('1')), erc20Call(usdc, 'transfer', recipient, usd('2'))],
      [native(0n), maxOut(usdc, usd('3')), maxOut(usdc, usd('2')), maxOut(usdc, 0n)],
    )
    expect(reason).toMatchObject({ error: 'ConditionFailed', index: 2, bound: usd('2'), actual: usd('3') })
  })

  it('an unknown kind fails the write before any call runs', async () => {
    const { reason } = await expectGuardRevert(
      [erc20Call(usdc, 'transfer', recipient, usd('1'))],
      [native(0n), { kind: 9, token: usdc, amount: 0n }],
    )
    expect(reason).toEqual({ error: 'UnknownCondition', index: 1 })
  })

  it('a failing call’s own revert data is passed on, wrapped in CallFailed (never mistaken for a condition)', async () => {
    const balance = await client.readContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [wallet],
    })
    const { output, reason } = await expectGuardRevert(
      [erc20Call(usdc, 'transfer', recipient, balance + 1n)],
      [native(0n), maxOut(usdc, maxUint256)],
    )
    const own = encodeErrorResult({
      abi: erc20Errors,
      errorName: 'ERC20InsufficientBalance',
      args: [wallet, balance, balance + 1n],
    })
    expect(reason).toEqual({ error: 'CallFailed', index: 0, reason: own })
    expect(output).toBe(encodeErrorResult({ abi: guardAbi, errorName: 'CallFailed', args: [0n, own] }))
  })

  it('a token it cannot read fails closed: Unreadable (no balanceOf, or no code at all)', async () => {
    const transfer = erc20Call(usdc, 'transfer', recipient, usd('1'))
    for (const token of [noBalanceOf, recipient]) {
      const { reason } = await expectGuardRevert([transfer], [native(0n), maxOut(token, usd('1'))])
      expect(reason).toEqual({ error: 'Unreadable', index: 1, token })
    }
  })
})

async function allowance(token: Address, spender: Address, of: Address = wallet) {
  return client.readContract({
    address: token,
    abi: erc20Abi,
    functionName: 'allowance',
    args: [of, spender],
  })
}

describe('only the wallet itself may run calls through it', () => {
  const steal = () => executeData([erc20Call(usdc, 'transfer', stranger.account.address, usd('1'))], [])

  it('a call to the guard’s own address, from any account, reverts NotWallet and moves nothing', async () => {
    for (const from of [stranger, walletClient, owner]) {
      const before = await holdings()
      const { receipt, output } = await mined(
        await from.sendTransaction({ to: guardAddress, data: steal(), gas: 1_000_000n }),
      )
      expect(receipt.status).toBe('reverted')
      expect(decodeGuardRevert(output)).toEqual({ error: 'NotWallet' })
      const after = await holdings()
      expect(after.rest).toEqual(before.rest)
    }
  })

  it('another account calling the delegated wallet’s execute reverts NotWallet and moves nothing', async () => {
    const before = await holdings()
    const { receipt, output } = await mined(
      await stranger.sendTransaction({ to: wallet, data: steal(), gas: 1_000_000n }),
    )
    expect(receipt.status).toBe('reverted')
    expect(decodeGuardRevert(output)).toEqual({ error: 'NotWallet' })
    expect((await holdings()).rest).toEqual(before.rest)
    expect((await holdings()).eth).toBe(before.eth)
  })
})

describe('the delegated wallet receives like an EOA', () => {
  it('ETH: a plain transfer, and a contract’s 2300-gas `transfer`', async () => {
    const before = await client.getBalance({ address: wallet })
    await send(stranger, { to: wallet, value: 1000n })
    const forwarder = await deployArtifact(fixtures, 1, 'StipendSender')
    await send(stranger, {
      to: forwarder,
      value: 2000n,
      data: encodeFunctionData({ abi: attackAbi, functionName: 'forward', args: [wallet] }),
    })
    expect(await client.getBalance({ address: wallet })).toBe(before + 3000n)
  })

  it('ERC-721 through safeTransferFrom', async () => {
    const from = stranger.account.address
    await send(owner, {
      to: nft,
      data: encodeFunctionData({ abi: nftAbi, functionName: 'mint', args: [from, 10n] }),
    })
    await send(stranger, {
      to: nft,
      data: encodeFunctionData({ abi: nftAbi, functionName: 'safeTransferFrom', args: [from, wallet, 10n] }),
    })
    expect(
      await client.readContract({ address: nft, abi: nftAbi, functionName: 'ownerOf', args: [10n] }),
    ).toBe(wallet)
  })

  it('ERC-1155, single and batch', async () => {
    const from = stranger.account.address
    for (const id of [20n, 21n])
      await send(owner, {
        to: multi,
        data: encodeFunctionData({ abi: multiAbi, functionName: 'mint', args: [from, id, 10n] }),
      })
    await send(stranger, {
      to: multi,
      data: encodeFunctionData({
        abi: multiAbi,
        functionName: 'safeTransferFrom',
        args: [from, wallet, 20n, 4n, '0x'],
      }),
    })
    await send(stranger, {
      to: multi,
      data: encodeFunctionData({
        abi: multiAbi,
        functionName: 'safeBatchTransferFrom',
        args: [from, wallet, [20n, 21n], [1n, 6n], '0x'],
      }),
    })
    const of = (id: bigint) =>
      client.readContract({ address: multi, abi: multiAbi, functionName: 'balanceOf', args: [wallet, id] })
    expect([await of(20n), await of(21n)]).toEqual([5n, 6n])
  })

  it('any other call from another account is accepted and does nothing', async () => {
    const before = await holdings()
    await send(stranger, { to: wallet, data: '0xdeadbeef' })
    expect((await holdings()).rest).toEqual(before.rest)
  })
})

describe('ERC-1271', () => {
  const key = mnemonicToAccount(devnetMnemonic, { addressIndex: walletIndex })
  const other = mnemonicToAccount(devnetMnemonic, { addressIndex: 2 })
  const hash = keccak256(toHex('an order the wallet signed'))
  const check = (signature: Hex) =>
    client.readContract({
      address: wallet,
      abi: erc1271Abi,
      functionName: 'isValidSignature',
      args: [hash, signature],
    })

  it('accepts the wallet key’s signature and rejects any other', async () => {
    const signature = await key.sign({ hash })
    expect(await check(signature)).toBe('0x1626ba7e')
    expect(await check(await other.sign({ hash }))).toBe('0xffffffff')
    expect(await check(await key.sign({ hash: keccak256(toHex('something else')) }))).toBe('0xffffffff')
    expect(await check(`${signature}00`)).toBe('0xffffffff')
    // The same signature with s flipped to the high half (malleable) is refused.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(`0x${signature.slice(66, 130)}`)
    const v = Number.parseInt(signature.slice(130), 16)
    const flipped =
      `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex
    expect(await check(flipped)).toBe('0xffffffff')
  })
})

describe('it holds no state', () => {
  it('its runtime code has no SSTORE, TSTORE, SELFDESTRUCT, DELEGATECALL or CALLCODE (PUSH data skipped)', async () => {
    const code = await client.getCode({ address: guardAddress })
    const runtime = (artifacts.contracts as unknown as Record<string, { runtime?: Hex }>).AirlockGuard
      ?.runtime
    expect(code).toBe(runtime)
    const bytes = Buffer.from((code as Hex).slice(2), 'hex')
    // solc appends CBOR metadata and its length (2 bytes): not code.
    const end = bytes.length - 2 - bytes.readUInt16BE(bytes.length - 2)
    const seen = new Set<number>()
    for (let pc = 0; pc < end; pc++) {
      const op = bytes[pc] as number
      seen.add(op)
      if (op >= 0x60 && op <= 0x7f) pc += op - 0x5f // PUSH1…PUSH32 data
    }
    expect(seen.has(0xf1)).toBe(true) // CALL: the walk did reach the code
    for (const forbidden of [0x55, 0x5d, 0xff, 0xf4, 0xf2]) expect(seen.has(forbidden)).toBe(false)
  })
})

describe('attack contracts revert and move nothing (ADVERSARIAL 25, 46, 47)', () => {
  const pull = (puller: Address, amount: bigint): Call => ({
    to: puller,
    data: encodeFunctionData({ abi: attackAbi, functionName: 'pull', args: [usdc, amount] }),
  })
  const pullConditions = (amount: bigint) => [native(0n), maxOut(usdc, amount)]
  const approveFrom = (spender: Address) =>
    expectPasses([erc20Call(usdc, 'approve', spender, maxUint256)], [])
  const tookMore = (amount: bigint) => ({
    error: 'ConditionFailed',
    index: 1,
    kind: 'tokenMaxOutflow',
    token: usdc,
    bound: amount,
    actual: amount * 100n,
  })

  it('a contract that takes 100x from a block number on', async () => {
    const start = await client.getBlockNumber()
    const bomb = await deployArtifact(fixtures, 1, 'TimeBombPuller', [start + 10n, maxUint256])
    await approveFrom(bomb)
    await expectPasses([pull(bomb, usd('1'))], pullConditions(usd('1')))
    await jsonRpc(fixtures.rpcUrl, [{ method: 'anvil_mine', params: [toHex(10)] }])
    const { reason } = await expectGuardRevert([pull(bomb, usd('1'))], pullConditions(usd('1')))
    expect(reason).toEqual(tookMore(usd('1')))
  })

  it('a contract that takes 100x from a time on', async () => {
    const now = (await client.getBlock()).timestamp
    const bomb = await deployArtifact(fixtures, 1, 'TimeBombPuller', [maxUint256, now + 60n])
    await approveFrom(bomb)
    await expectPasses([pull(bomb, usd('1'))], pullConditions(usd('1')))
    await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_setNextBlockTimestamp', params: [toHex(now + 61n)] }])
    const { reason } = await expectGuardRevert([pull(bomb, usd('1'))], pullConditions(usd('1')))
    expect(reason).toEqual(tookMore(usd('1')))
  })

  it('a proxy whose owner swaps in an implementation that takes 100x', async () => {
    const honest = await deployArtifact(fixtures, 1, 'HonestPullImpl')
    const greedy = await deployArtifact(fixtures, 1, 'GreedyPullImpl')
    const proxy = await deployArtifact(fixtures, 1, 'SwappableProxy', [honest])
    await approveFrom(proxy)
    await expectPasses([pull(proxy, usd('2'))], pullConditions(usd('2')))
    await send(owner, {
      to: proxy,
      data: encodeFunctionData({ abi: attackAbi, functionName: 'upgradeTo', args: [greedy] }),
    })
    const { reason } = await expectGuardRevert([pull(proxy, usd('2'))], pullConditions(usd('2')))
    expect(reason).toEqual(tookMore(usd('2')))
  })

  it('a contract that takes 100x once an outside switch is set (TellingPuller, ARMED)', async () => {
    const puller = await deployArtifact(fixtures, 1, 'TellingPuller')
    await approveFrom(puller)
    const call: Call = {
      to: puller,
      data: encodeFunctionData({ abi: tellingAbi, functionName: 'pull', args: [usdc, usd('1'), 6] }),
    }
    await expectPasses([call], pullConditions(usd('1')))
    await send(owner, {
      to: puller,
      data: encodeFunctionData({ abi: tellingAbi, functionName: 'arm', args: [true] }),
    })
    const { reason } = await expectGuardRevert([call], pullConditions(usd('1')))
    expect(reason).toEqual(tookMore(usd('1')))
  })

  it('a re-entrant token whose transfer takes 100x (its re-entry into execute is refused)', async () => {
    const token = await deployArtifact(fixtures, 1, 'ReentrantToken', [wallet, parseEther('1000')])
    const transfer = erc20Call(token, 'transfer', recipient, parseEther('1'))
    await expectPasses([transfer], [native(0n), maxOut(token, parseEther('1'))])
    await send(owner, {
      to: token,
      data: encodeFunctionData({ abi: attackAbi, functionName: 'arm', args: [true] }),
    })
    // Had the re-entry into execute run, it would have sent the whole balance away and the nested take would have
    // failed on an empty balance: the condition seeing exactly 100x shows it did nothing.
    const { reason } = await expectGuardRevert(
      [transfer],
      [native(0n), maxOut(token, parseEther('1'))],
      [{ token }, { token, of: recipient }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 1,
      kind: 'tokenMaxOutflow',
      token,
      bound: parseEther('1'),
      actual: parseEther('100'),
    })
  })

  it('a token whose approve raises the allowance beyond what was asked', async () => {
    const token = await deployArtifact(fixtures, 1, 'RaisingApproveToken', [wallet, parseEther('1000')])
    const spender = fixtures.accounts[5] as Address
    const approve = erc20Call(token, 'approve', spender, parseEther('50'))
    const bounded = [{ kind: 'maxAllowance' as const, token, spender, amount: parseEther('50') }]
    await expectPasses([approve], bounded)
    expect(await allowance(token, spender)).toBe(parseEther('50'))
    await send(owner, {
      to: token,
      data: encodeFunctionData({ abi: attackAbi, functionName: 'arm', args: [true] }),
    })
    const other = fixtures.accounts[6] as Address
    const { reason } = await expectGuardRevert(
      [erc20Call(token, 'approve', other, parseEther('50'))],
      [{ kind: 'maxAllowance', token, spender: other, amount: parseEther('50') }],
    )
    expect(reason).toEqual({
      error: 'ConditionFailed',
      index: 0,
      kind: 'maxAllowance',
      token,
      bound: parseEther('50'),
      actual: parseEther('5000'),
    })
    expect(await allowance(token, other)).toBe(0n)
  })
})
