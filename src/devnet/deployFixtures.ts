import {
  type Address,
  encodeAbiParameters,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  type Hex,
  keccak256,
  labelhash,
  maxUint256,
  namehash,
  numberToHex,
  parseAbi,
  parseAbiParameters,
  zeroHash,
} from 'viem'
import { DevnetError } from '../errors/index.js'
import { type DevnetContractName, devnetArtifacts } from './artifacts.js'
import { enableDevnetGuard } from './enableDevnetGuard.js'
import type { DevnetFixtures } from './fixtures.js'
import { jsonRpc } from './jsonRpc.js'

/** Options of {@link deployFixtures}. */
export type DeployFixturesOptions = {
  /** Registry name written into the fixtures. Default `devnet`. */
  chainName?: string | undefined
}

/** Canonical Multicall3 address (the same on every chain). */
const multicall3Address: Address = '0xcA11bde05977b3631167028862bE2a173976CA11'

/** keccak256 of UniswapV3Pool's creation code in @uniswap/v3-core 1.0.1 (PoolAddress.POOL_INIT_CODE_HASH). */
const uniswapV3PoolInitCodeHash: Hex = '0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54'

const usdcPerAccount = 1_000_000n * 10n ** 6n
const daiPerAccount = 1_000_000n * 10n ** 18n
const ethUsdPrice = 3000n
const poolFee = 3000
// Full range for tick spacing 60 (fee 0.3%): the Uniswap min/max ticks rounded to the spacing.
const fullRangeTick = 887_220
const liquidityWeth = 1_000n * 10n ** 18n
const liquidityUsdc = (liquidityWeth * ethUsdPrice) / 10n ** 12n

// Explicit gas per transaction: no eth_estimateGas round trips. anvil charges only what is used, and every
// limit stays below the 2^24 per-transaction cap of recent hardforks.
const gasPerCall = 300_000n
const gasCreatePool = 6_000_000n
const gasMint = 1_000_000n
const maxFeePerGas = 100n * 10n ** 9n
const maxPriorityFeePerGas = 10n ** 9n

const abis = {
  mintable: parseAbi([
    'function mint(address to, uint256 amount)',
    'function approve(address, uint256) returns (bool)',
  ]),
  weth: parseAbi(['function deposit() payable']),
  registry: parseAbi([
    'function setSubnodeOwner(bytes32 node, bytes32 label, address owner) returns (bytes32)',
    'function setSubnodeRecord(bytes32 node, bytes32 label, address owner, address resolver, uint64 ttl)',
    'function setOwner(bytes32 node, address owner)',
  ]),
  resolver: parseAbi([
    'function setAddr(bytes32 node, address a)',
    'function setText(bytes32 node, string key, string value)',
    'function setName(bytes32 node, string name)',
  ]),
  positionManager: parseAbi([
    'function createAndInitializePoolIfNecessary(address token0, address token1, uint24 fee, uint160 sqrtPriceX96) payable returns (address pool)',
    'struct MintParams { address token0; address token1; uint24 fee; int24 tickLower; int24 tickUpper; uint256 amount0Desired; uint256 amount1Desired; uint256 amount0Min; uint256 amount1Min; address recipient; uint256 deadline; }',
    'function mint(MintParams params) payable returns (uint256 tokenId, uint128 liquidity, uint256 amount0, uint256 amount1)',
  ]),
}

/** alice.eth's avatar: an on-chain SVG, so viem's getEnsAvatar resolves it without any network. */
const aliceAvatar = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#f59e0b"/>' +
    '<text x="32" y="42" font-size="28" text-anchor="middle" fill="#fff">A</text></svg>',
).toString('base64')}`

type Step = { label: string; to?: Address; data: Hex; value?: bigint; gas: bigint }

/**
 * Deploys the devnet fixtures (DESIGN §4) from account 9 in a fixed order, so every address is the same on every
 * fresh node. Transactions carry explicit nonces and gas (no estimation), go out in one JSON-RPC batch and are
 * mined together in block 1; every receipt is then checked. Then the post-condition guard is deployed and
 * account 0 delegates to it ({@link enableDevnetGuard}). Takes ~30 ms. Expects a fresh anvil with at least 10
 * unlocked accounts (the test mnemonic gives the documented addresses).
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
  const [a0, a1, a2] = accounts as [Address, Address, Address]
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

  const steps: Step[] = []
  const deploy = (name: DevnetContractName, args: readonly unknown[] = [], label: string = name): Address => {
    const { abi, bytecode } = devnetArtifacts.contracts[name]
    const address = getContractAddress({ from: deployer, nonce: BigInt(steps.length) })
    const data = args.length ? encodeDeployData({ abi, bytecode, args }) : bytecode
    // Code deposit (200 gas/byte) plus constructor work; generous, since only used gas is charged.
    steps.push({ label: `deploy ${label}`, data, gas: 1_500_000n + 250n * BigInt((data.length - 2) / 2) })
    return address
  }
  const call = (label: string, to: Address, data: Hex, gas = gasPerCall, value?: bigint) =>
    steps.push({ label, to, data, gas, ...(value === undefined ? {} : { value }) })

  // Contracts, in a fixed order: their addresses follow from the deployer's nonce.
  const usdc = deploy('USDC', [[a0, a1, a2], usdcPerAccount])
  const dai = deploy('DAI', [[a0, a1, a2], daiPerAccount])
  const weth = deploy('WETH9')
  const nft = deploy('DemoNFT', [a1])
  const multi = deploy('DemoMulti', [a1, 10n])
  const feed = deploy('PriceFeed', [8, 'ETH / USD', ethUsdPrice * 10n ** 8n])
  const registry = deploy('ENSRegistry')
  const resolver = deploy('PublicResolver', [registry])
  const reverseRegistrar = deploy('ReverseRegistrar', [registry, resolver])
  const universalResolver = deploy('UniversalResolver', [registry])
  const factory = deploy('UniswapV3Factory')
  // The token descriptor only serves position NFT tokenURI(); none is needed on the devnet.
  const positionManager = deploy('NonfungiblePositionManager', [
    factory,
    weth,
    '0x0000000000000000000000000000000000000000',
  ])
  const router = deploy('SwapRouter', [factory, weth])
  const quoter = deploy('QuoterV2', [factory, weth])
  const revertingDecimals = deploy('RevertingDecimalsToken', [a0])
  const absurdDecimals = deploy('AbsurdDecimalsToken', [a0])
  const homoglyphToken = deploy('HomoglyphToken', [a0])

  // ENS: the deployer owns the root. It builds the reverse tree and the names, writes the reverse records itself
  // (same records ReverseRegistrar.setName writes, without spending the accounts' nonces or ETH), then hands
  // addr.reverse to the ReverseRegistrar so accounts can change their primary names later.
  const setSubnodeOwner = (node: Hex, label: string, owner: Address) =>
    encodeFunctionData({
      abi: abis.registry,
      functionName: 'setSubnodeOwner',
      args: [node, labelhash(label), owner],
    })
  const setSubnodeRecord = (node: Hex, label: string) =>
    encodeFunctionData({
      abi: abis.registry,
      functionName: 'setSubnodeRecord',
      args: [node, labelhash(label), deployer, resolver, 0n],
    })
  const setOwner = (node: Hex, owner: Address) =>
    encodeFunctionData({ abi: abis.registry, functionName: 'setOwner', args: [node, owner] })
  const addrReverse = namehash('addr.reverse')
  call('ENS reverse', registry, setSubnodeOwner(zeroHash, 'reverse', deployer))
  call('ENS addr.reverse', registry, setSubnodeOwner(namehash('reverse'), 'addr', deployer))
  call('ENS eth', registry, setSubnodeOwner(zeroHash, 'eth', deployer))
  const names: { label: string; owner: Address; texts: Record<string, string> }[] = [
    { label: 'alice', owner: a1, texts: { avatar: aliceAvatar, description: 'Devnet account 1' } },
    { label: 'bob', owner: a2, texts: { description: 'Devnet account 2' } },
  ]
  for (const { label, owner, texts } of names) {
    const name = `${label}.eth`
    const node = namehash(name)
    call(`ENS ${name}`, registry, setSubnodeRecord(namehash('eth'), label))
    call(
      `ENS ${name} addr`,
      resolver,
      encodeFunctionData({ abi: abis.resolver, functionName: 'setAddr', args: [node, owner] }),
    )
    for (const [key, value] of Object.entries(texts)) {
      call(
        `ENS ${name} text ${key}`,
        resolver,
        encodeFunctionData({ abi: abis.resolver, functionName: 'setText', args: [node, key, value] }),
      )
    }
    call(`ENS ${name} owner`, registry, setOwner(node, owner))
    const hexLabel = owner.slice(2).toLowerCase()
    const reverseNode = namehash(`${hexLabel}.addr.reverse`)
    call(`ENS reverse ${name}`, registry, setSubnodeRecord(addrReverse, hexLabel))
    call(
      `ENS reverse ${name} name`,
      resolver,
      encodeFunctionData({ abi: abis.resolver, functionName: 'setName', args: [reverseNode, name] }),
    )
    call(`ENS reverse ${name} owner`, registry, setOwner(reverseNode, owner))
  }
  call('ENS addr.reverse to ReverseRegistrar', registry, setOwner(addrReverse, reverseRegistrar))

  // Uniswap v3: a USDC/WETH 0.3% pool at 3000 USDC per WETH with full-range liquidity from the deployer.
  const usdcIsToken0 = BigInt(usdc) < BigInt(weth)
  const [token0, token1] = usdcIsToken0 ? [usdc, weth] : [weth, usdc]
  const [amount0, amount1] = usdcIsToken0 ? [liquidityUsdc, liquidityWeth] : [liquidityWeth, liquidityUsdc]
  const mintable = (functionName: 'mint' | 'approve', args: readonly [Address, bigint]) =>
    encodeFunctionData({ abi: abis.mintable, functionName, args })
  call('USDC for liquidity', usdc, mintable('mint', [deployer, liquidityUsdc]))
  call(
    'wrap ETH',
    weth,
    encodeFunctionData({ abi: abis.weth, functionName: 'deposit' }),
    gasPerCall,
    liquidityWeth,
  )
  call('approve USDC', usdc, mintable('approve', [positionManager, maxUint256]))
  call('approve WETH', weth, mintable('approve', [positionManager, maxUint256]))
  call(
    'create USDC/WETH pool',
    positionManager,
    encodeFunctionData({
      abi: abis.positionManager,
      functionName: 'createAndInitializePoolIfNecessary',
      args: [token0, token1, poolFee, sqrtPriceX96(amount0, amount1)],
    }),
    gasCreatePool,
  )
  call(
    'mint USDC/WETH liquidity',
    positionManager,
    encodeFunctionData({
      abi: abis.positionManager,
      functionName: 'mint',
      args: [
        {
          token0,
          token1,
          fee: poolFee,
          tickLower: -fullRangeTick,
          tickUpper: fullRangeTick,
          amount0Desired: amount0,
          amount1Desired: amount1,
          amount0Min: 0n,
          amount1Min: 0n,
          recipient: deployer,
          deadline: maxUint256,
        },
      ],
    }),
    gasMint,
  )

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

  // The pool's CREATE2 address, as the factory computes it (the test checks it against factory.getPool).
  const pool = getContractAddress({
    opcode: 'CREATE2',
    from: factory,
    salt: keccak256(
      encodeAbiParameters(parseAbiParameters('address, address, uint24'), [token0, token1, poolFee]),
    ),
    bytecodeHash: uniswapV3PoolInitCodeHash,
  })

  return {
    chain: chainName,
    chainId,
    rpcUrl,
    accounts,
    tokens: {
      USDC: { address: usdc, decimals: 6 },
      WETH: { address: weth, decimals: 18 },
      DAI: { address: dai, decimals: 18 },
    },
    nft: { address: nft, tokenIds: ['1', '2', '3'], owner: a1 },
    erc1155: { address: multi, id: '1' },
    ens: { 'alice.eth': a1, 'bob.eth': a2 },
    multicall3: multicall3Address,
    uniswapV3: {
      factory,
      router,
      quoter,
      positionManager,
      pools: { 'USDC/WETH': pool },
    },
    feeds: { 'ETH/USD': { address: feed, decimals: 8 } },
    ensUniversalResolver: universalResolver,
    ensRegistry: registry,
    adversarial: { revertingDecimals, absurdDecimals, homoglyphToken },
    guard,
    deployer,
  }
}

type Receipt = { status: Hex } | null

/** Polls until every transaction has a receipt; fails on the first reverted step, naming it. */
async function waitForReceipts(
  rpcUrl: string,
  hashes: readonly Hex[],
  steps: readonly Step[],
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

/** sqrt(amount1 / amount0) in Q64.96, the pool's initial price for a position holding these raw amounts. */
function sqrtPriceX96(amount0: bigint, amount1: bigint): bigint {
  return sqrt((amount1 << 192n) / amount0)
}

function sqrt(value: bigint): bigint {
  if (value < 2n) return value
  let x = value
  let y = (x + 1n) / 2n
  while (y < x) {
    x = y
    y = (x + value / x) / 2n
  }
  return x
}
