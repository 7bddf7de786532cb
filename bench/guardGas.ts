// Issue 10's gas figure: what the on-chain post-condition guard (contracts/AirlockGuard.sol) adds to a write. Each
// write is sent twice from the same state (an anvil snapshot, reverted after each side): once as a plain
// transaction, once as `execute([call], conditions)` to the wallet itself, delegated to the guard with EIP-7702.
// The conditions are the ones the gateway derives (src/pipeline/postConditions.ts): the native outflow always, each
// token that leaves, each token that must arrive. The devnet is left as it was found, except that the guard is
// deployed and the bench wallet delegates to it.
import {
  type Address,
  type Chain,
  concatHex,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hex,
  http,
  maxUint256,
  type PublicClient,
  parseAbi,
  parseEther,
  parseUnits,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import artifacts from '../contracts/artifacts.json' with { type: 'json' }
import {
  create2Factory,
  delegationCode,
  encodeGuardedCall,
  guardAddress,
  guardCreationCode,
  guardGasOverhead,
  guardSalt,
  type PostCondition,
} from '../src/chains/evm/guard.js'
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import type { DevnetFixtures } from '../src/devnet/fixtures.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { startDevnet } from '../src/devnet/startDevnet.js'
import type { WriteBenchReport } from './writes.js'

/** The goal of issue 10: gas added by the guard to a write with one token condition. */
const goalAddedGas = 15_000

/** One write, sent plain and guarded from the same state: gas used by each and the difference. */
export type GuardGasRow = {
  write: string
  /** How many post-conditions the guarded side checked. */
  conditions: number
  unguarded: number
  guarded: number
  added: number
  /** What a gas limit must add: eth_estimateGas of the guarded write less that of the plain one. */
  estimateAdded: number
  /** `guardGasOverhead(conditions)` of src/chains/evm/guard.ts: what the gateway adds to a write's gas limit. */
  overhead: number
}

/** Options of {@link benchGuardGas}. */
export type GuardGasOptions = {
  /** Devnet account that delegates to the guard and sends the writes (default 7). */
  walletIndex?: number
  /** Devnet account that deploys and funds (default 1: it holds USDC). */
  funderIndex?: number
}

const contracts = (artifacts as unknown as { contracts: Record<string, { abi: unknown[]; bytecode: Hex }> })
  .contracts
const routerAbi = parseAbi([
  'function exactInputSingle((address tokenIn, address tokenOut, uint24 fee, address recipient, uint256 deadline, uint256 amountIn, uint256 amountOutMinimum, uint160 sqrtPriceLimitX96) params) payable returns (uint256 amountOut)',
])
const mintAbi = parseAbi(['function mint(address to, uint256 value)'])

/** A devnet account's wallet client. */
export function devnetWallet(fixtures: DevnetFixtures, index: number, chain: Chain = devnetChain(fixtures)) {
  return createWalletClient({
    account: mnemonicToAccount(devnetMnemonic, { addressIndex: index }),
    chain,
    transport: http(fixtures.rpcUrl),
  })
}

/**
 * Deploys the guard through the CREATE2 factory unless its address already holds code.
 *
 * @example await deployGuard(fixtures, 1) // guardAddress now holds AirlockGuard's runtime code
 */
export async function deployGuard(fixtures: DevnetFixtures, deployerIndex: number): Promise<Address> {
  const client = createPublicClient({ transport: http(fixtures.rpcUrl) })
  const code = await client.getCode({ address: guardAddress })
  if (code && code !== '0x') return guardAddress
  const hash = await devnetWallet(fixtures, deployerIndex).sendTransaction({
    to: create2Factory,
    data: concatHex([guardSalt, guardCreationCode]),
  })
  const receipt = await client.waitForTransactionReceipt({ hash })
  const deployed = await client.getCode({ address: guardAddress })
  if (receipt.status !== 'success' || !deployed || deployed === '0x')
    throw new Error(`The guard was not deployed at ${guardAddress}.`)
  return guardAddress
}

/**
 * Delegates a devnet account's code to the guard with a real EIP-7702 authorization (a type-4 transaction the
 * account sends to itself), unless it already does.
 *
 * @example const wallet = await delegateToGuard(fixtures, 7)
 */
export async function delegateToGuard(fixtures: DevnetFixtures, index: number): Promise<Address> {
  const client = createPublicClient({ transport: http(fixtures.rpcUrl) })
  const wallet = devnetWallet(fixtures, index)
  const self = wallet.account.address
  if ((await client.getCode({ address: self }))?.toLowerCase() === delegationCode(guardAddress)) return self
  const authorization = await wallet.signAuthorization({ contractAddress: guardAddress, executor: 'self' })
  const hash = await wallet.sendTransaction({ authorizationList: [authorization], to: self })
  await client.waitForTransactionReceipt({ hash })
  if ((await client.getCode({ address: self }))?.toLowerCase() !== delegationCode(guardAddress))
    throw new Error(`${self} does not delegate to the guard.`)
  return self
}

/** Deploys a contract from the artifacts as devnet account `index`. */
export async function deployArtifact(
  fixtures: DevnetFixtures,
  index: number,
  name: string,
  args: readonly unknown[] = [],
): Promise<Address> {
  const artifact = contracts[name]
  if (!artifact) throw new Error(`No artifact ${name}.`)
  const client = createPublicClient({ transport: http(fixtures.rpcUrl) })
  const hash = await devnetWallet(fixtures, index).deployContract({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args,
  } as never)
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (!receipt.contractAddress) throw new Error(`${name} was not deployed.`)
  return getAddress(receipt.contractAddress)
}

/** Gas used by a transaction the wallet sends, on a snapshot that is reverted afterwards. */
async function gasOnSnapshot(
  fixtures: DevnetFixtures,
  client: PublicClient,
  send: () => Promise<Hex>,
): Promise<number> {
  const [snapshot] = (await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_snapshot' }])) as [string]
  try {
    const receipt = await client.waitForTransactionReceipt({ hash: await send() })
    if (receipt.status !== 'success') throw new Error(`bench transaction ${receipt.transactionHash} reverted`)
    return Number(receipt.gasUsed)
  } finally {
    await jsonRpc(fixtures.rpcUrl, [{ method: 'evm_revert', params: [snapshot] }])
  }
}

/**
 * Measures the gas the guard adds to a native transfer (to a used and to a never-used address), an ERC-20 transfer
 * (USDC, and a token behind a proxy) and a Uniswap v3 exactInputSingle swap on a running devnet.
 *
 * @example const rows = await benchGuardGas(devnet.fixtures) // [{ write: 'native transfer', added: 9421, … }, …]
 */
export async function benchGuardGas(
  fixtures: DevnetFixtures,
  options: GuardGasOptions = {},
): Promise<GuardGasRow[]> {
  const { walletIndex = 7, funderIndex = 1 } = options
  const chain = devnetChain(fixtures)
  const client = createPublicClient({ chain, transport: http(fixtures.rpcUrl) }) as PublicClient
  const funder = devnetWallet(fixtures, funderIndex, chain)
  const wallet = devnetWallet(fixtures, walletIndex, chain)
  const self = wallet.account.address
  const usdc = fixtures.tokens.USDC.address
  const weth = fixtures.tokens.WETH.address
  const recipient = fixtures.accounts[8] as Address
  const wait = async (hash: Hex) => client.waitForTransactionReceipt({ hash })

  await deployGuard(fixtures, funderIndex)
  await delegateToGuard(fixtures, walletIndex)
  // The wallet's starting state, common to both sides: USDC, a token behind a proxy, the router's allowance.
  await wait(
    await funder.writeContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [self, parseUnits('10000', 6)],
    }),
  )
  const proxied = await deployArtifact(fixtures, funderIndex, 'SwappableProxy', [
    await deployArtifact(fixtures, funderIndex, 'ProxiedToken'),
  ])
  await wait(
    await funder.writeContract({
      address: proxied,
      abi: mintAbi,
      functionName: 'mint',
      args: [self, 10n ** 24n],
    }),
  )
  await wait(
    await funder.writeContract({
      address: proxied,
      abi: mintAbi,
      functionName: 'mint',
      args: [recipient, 1n],
    }),
  )
  await wait(
    await wallet.writeContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'approve',
      args: [fixtures.uniswapV3.router, maxUint256],
    }),
  )

  const transfer = (to: Address, amount: bigint) =>
    encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] })
  const usdcAmount = parseUnits('10', 6)
  const swapIn = parseUnits('100', 6)
  const swapMinOut = parseEther('0.03')
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600)
  const native = (amount: bigint): PostCondition => ({ kind: 'nativeMaxOutflow', amount })
  const writes: {
    write: string
    call: { to: Address; data: Hex; value: bigint }
    conditions: PostCondition[]
  }[] = [
    {
      write: 'native transfer (used address)',
      call: { to: recipient, data: '0x', value: parseEther('0.001') },
      conditions: [native(parseEther('0.001'))],
    },
    {
      write: 'native transfer (never-used address)',
      call: { to: '0x00000000000000000000000000000000000b0b01', data: '0x', value: parseEther('0.001') },
      conditions: [native(parseEther('0.001'))],
    },
    {
      write: 'ERC-20 transfer (USDC)',
      call: { to: usdc, data: transfer(recipient, usdcAmount), value: 0n },
      conditions: [native(0n), { kind: 'tokenMaxOutflow', token: usdc, amount: usdcAmount }],
    },
    {
      write: 'ERC-20 transfer (token behind a proxy)',
      call: { to: proxied, data: transfer(recipient, usdcAmount), value: 0n },
      conditions: [native(0n), { kind: 'tokenMaxOutflow', token: proxied, amount: usdcAmount }],
    },
    {
      write: 'Uniswap v3 exactInputSingle (USDC → WETH)',
      call: {
        to: fixtures.uniswapV3.router,
        data: encodeFunctionData({
          abi: routerAbi,
          functionName: 'exactInputSingle',
          args: [
            {
              tokenIn: usdc,
              tokenOut: weth,
              fee: 3000,
              recipient: self,
              deadline,
              amountIn: swapIn,
              amountOutMinimum: swapMinOut,
              sqrtPriceLimitX96: 0n,
            },
          ],
        }),
        value: 0n,
      },
      conditions: [
        native(0n),
        { kind: 'tokenMaxOutflow', token: usdc, amount: swapIn },
        { kind: 'tokenMinInflow', token: weth, amount: swapMinOut },
      ],
    },
  ]

  const rows: GuardGasRow[] = []
  for (const { write, call, conditions } of writes) {
    const plain = { account: wallet.account, to: call.to, data: call.data, value: call.value }
    const wrapped = { account: wallet.account, to: self, data: encodeGuardedCall(call, conditions) }
    const [estimatePlain, estimateWrapped] = await Promise.all([
      client.estimateGas(plain),
      client.estimateGas(wrapped),
    ])
    const unguarded = await gasOnSnapshot(fixtures, client, () => wallet.sendTransaction(plain))
    const guarded = await gasOnSnapshot(fixtures, client, () => wallet.sendTransaction(wrapped))
    rows.push({
      write,
      conditions: conditions.length,
      unguarded,
      guarded,
      added: guarded - unguarded,
      estimateAdded: Number(estimateWrapped - estimatePlain),
      overhead: Number(guardGasOverhead(conditions)),
    })
  }
  return rows
}

/**
 * `npm run bench`'s guard rows: starts a devnet of its own, measures, and reports one row per write (the goal
 * applies to the token writes; native transfers pay the EVM's own price of a value transfer from code).
 */
export async function benchGuard(report: WriteBenchReport): Promise<GuardGasRow[]> {
  const { row, log } = report
  log('(g) gas added by the guard: starting a devnet')
  const devnet = await startDevnet()
  try {
    const rows = await benchGuardGas(devnet.fixtures)
    for (const r of rows) {
      const token = !r.write.startsWith('native')
      row(
        `(g) gas added by the guard, ${r.write}`,
        `+${r.added} (${r.unguarded} → ${r.guarded}), ${r.conditions} condition${r.conditions > 1 ? 's' : ''}; limit +${r.estimateAdded} of +${r.overhead}`,
        token ? `≤ ${goalAddedGas} gas` : 'report',
        (token ? r.added <= goalAddedGas : true) && r.estimateAdded <= r.overhead,
      )
    }
    return rows
  } finally {
    await devnet.stop()
  }
}
