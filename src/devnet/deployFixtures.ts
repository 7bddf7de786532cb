import { type Address, getAddress, type Hex, numberToHex } from 'viem'
import { DevnetError } from '../errors/index.js'
import { devnetArtifacts } from './artifacts.js'
import { enableDevnetGuard } from './enableDevnetGuard.js'
import type { DevnetFixtures } from './fixtures.js'
import { jsonRpc } from './jsonRpc.js'
import { type FixtureStep, multicall3Address, planFixtures } from './planFixtures.js'

/** Options of {@link deployFixtures}. */
export type DeployFixturesOptions = {
  /** Registry name written into the fixtures. Default `devnet`. */
  chainName?: string | undefined
}

const maxFeePerGas = 100n * 10n ** 9n
const maxPriorityFeePerGas = 10n ** 9n

/**
 * Deploys the devnet fixtures (DESIGN §4) from account 9 in a fixed order ({@link planFixtures}), so every
 * address is the same on every fresh node. Transactions carry explicit nonces and gas (no estimation), go out in
 * one JSON-RPC batch and are mined together in block 1; every receipt is then checked. Then the post-condition
 * guard is deployed and account 0 delegates to it ({@link enableDevnetGuard}). Takes ~0.1 s. Expects a fresh
 * anvil with at least 10 unlocked accounts (the test mnemonic gives the documented addresses).
 *
 * @example
 * const anvil = await startAnvil()
 * const fixtures = await deployFixtures(anvil.rpcUrl, anvil.chainId)
 * fixtures.tokens.USDC.address // '0x…'
 * @throws {DevnetError} the node is unreachable, reports another chain id, was already used, or a step reverted
 */
export async function deployFixtures(
  rpcUrl: string,
  chainId: number,
  { chainName = 'devnet' }: DeployFixturesOptions = {},
): Promise<DevnetFixtures> {
  const [chainIdHex, accountList] = (await jsonRpc(rpcUrl, [
    { method: 'eth_chainId' },
    { method: 'eth_accounts' },
  ])) as [Hex, string[]]
  if (Number(chainIdHex) !== chainId) {
    throw new DevnetError(`The devnet node serves chain id ${Number(chainIdHex)}, expected ${chainId}.`)
  }
  if (accountList.length < 10) {
    throw new DevnetError(`The devnet node has ${accountList.length} unlocked accounts; fixtures need 10.`, {
      metaMessages: ['Start anvil with --accounts 10 (or more).'],
    })
  }
  const accounts = accountList.slice(0, 10).map((a) => getAddress(a))
  const deployer = accounts[9] as Address

  const multicallCreation = devnetArtifacts.contracts.Multicall3.bytecode
  const [nonceHex, multicallRuntime, automine, latest] = (await jsonRpc(rpcUrl, [
    { method: 'eth_getTransactionCount', params: [deployer, 'pending'] },
    // Running the creation code in eth_call yields the runtime code, placed at the canonical address below.
    { method: 'eth_call', params: [{ from: deployer, data: multicallCreation }, 'latest'] },
    { method: 'anvil_getAutomine' },
    { method: 'eth_getBlockByNumber', params: ['latest', false] },
  ])) as [Hex, Hex, boolean, { gasLimit: Hex }]
  if (Number(nonceHex) !== 0) {
    throw new DevnetError(
      'The devnet deployer (account 9) has already sent transactions; fixtures need a fresh node.',
      {
        metaMessages: ['Start a new anvil (startDevnet does) before deploying fixtures.'],
      },
    )
  }

  const plan = planFixtures(accounts)
  const { steps } = plan

  const sends = steps.map((step, nonce) => ({
    method: 'eth_sendTransaction',
    params: [
      {
        from: deployer,
        ...(step.to ? { to: step.to } : {}),
        data: step.data,
        gas: numberToHex(step.gas),
        nonce: numberToHex(nonce),
        maxFeePerGas: numberToHex(maxFeePerGas),
        maxPriorityFeePerGas: numberToHex(maxPriorityFeePerGas),
        ...(step.value ? { value: numberToHex(step.value) } : {}),
      },
    ],
  }))
  // All fixtures go into ONE block: automine off, block gas limit raised, send everything, mine once, restore.
  // (With automine on, a burst of large deployments overflows a 30M-gas block; anvil drops the transaction that
  // does not fit, and every later nonce then waits forever.)
  const totalGas = steps.reduce((sum, step) => sum + step.gas, 0n)
  await jsonRpc(rpcUrl, [
    ...(automine ? [{ method: 'evm_setAutomine', params: [false] }] : []),
    { method: 'evm_setBlockGasLimit', params: [numberToHex(totalGas + 1_000_000n)] },
  ])
  let hashes: Hex[]
  try {
    const results = await jsonRpc(rpcUrl, [
      ...sends,
      { method: 'anvil_setCode', params: [multicall3Address, multicallRuntime] },
    ])
    hashes = results.slice(0, steps.length) as Hex[]
    await jsonRpc(rpcUrl, [{ method: 'evm_mine' }])
  } finally {
    await jsonRpc(rpcUrl, [
      { method: 'evm_setBlockGasLimit', params: [latest.gasLimit] },
      ...(automine ? [{ method: 'evm_setAutomine', params: [true] }] : []),
    ])
  }
  await waitForReceipts(rpcUrl, hashes, steps)
  // Last, so every fixture above is deployed on an undelegated chain: the guard, and account 0 (the gateway's
  // devnet wallet) delegating to it with a real EIP-7702 transaction (DESIGN §11).
  const guard = await enableDevnetGuard(rpcUrl, chainId, { deployer })

  const { deployer: _, ...planned } = plan.fixtures
  // `guard` before `deployer`, as the fixtures JSON has always listed them.
  return { chain: chainName, chainId, rpcUrl, ...planned, guard, deployer }
}

type Receipt = { status: Hex } | null

/** Polls until every transaction has a receipt; fails on the first reverted step, naming it. */
async function waitForReceipts(
  rpcUrl: string,
  hashes: readonly Hex[],
  steps: readonly FixtureStep[],
): Promise<void> {
  let pending = hashes.map((hash, index) => ({ hash, index }))
  const deadline = Date.now() + 30_000
  while (pending.length) {
    const receipts = (await jsonRpc(
      rpcUrl,
      pending.map(({ hash }) => ({ method: 'eth_getTransactionReceipt', params: [hash] })),
    )) as Receipt[]
    const next: typeof pending = []
    pending.forEach((tx, i) => {
      const receipt = receipts[i]
      if (!receipt) next.push(tx)
      else if (receipt.status !== '0x1') {
        throw new DevnetError(`Devnet fixture step "${steps[tx.index]?.label}" reverted.`, {
          metaMessages: ['Rebuild the contracts with `npm run contracts`; if it persists, report a bug.'],
        })
      }
    })
    const progressed = next.length < pending.length
    pending = next
    if (!pending.length) return
    // Normally every receipt exists right after evm_mine; mine again if a round brought nothing new.
    if (!progressed) await jsonRpc(rpcUrl, [{ method: 'evm_mine' }])
    if (Date.now() > deadline) {
      throw new DevnetError(`Devnet fixtures: ${pending.length} transactions were never mined.`, {
        metaMessages: ['Fixtures need automine (do not start anvil with --no-mining).'],
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
