import {
  type Address,
  encodeAbiParameters,
  encodeDeployData,
  encodeFunctionData,
  getContractAddress,
  type Hex,
  keccak256,
  labelhash,
  maxUint256,
  namehash,
  parseAbi,
  parseAbiParameters,
  zeroHash,
} from 'viem'
import { type DevnetContractName, devnetArtifacts } from './artifacts.js'
import type { DevnetFixtures } from './fixtures.js'

/** One fixture transaction from the deployer; its nonce is its index in the plan. */
export type FixtureStep = { label: string; to?: Address; data: Hex; value?: bigint; gas: bigint }

/** What {@link planFixtures} returns: the transactions, and the fixtures they leave (less the chain's own facts). */
export type FixturePlan = {
  steps: FixtureStep[]
  fixtures: Omit<DevnetFixtures, 'chain' | 'chainId' | 'rpcUrl' | 'guard'>
}

/** Canonical Multicall3 address (the same on every chain). */
export const multicall3Address: Address = '0xcA11bde05977b3631167028862bE2a173976CA11'

/** keccak256 of UniswapV3Pool's creation code in @uniswap/v3-core 1.0.1 (PoolAddress.POOL_INIT_CODE_HASH). */
const uniswapV3PoolInitCodeHash: Hex = '0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54'

/** Fee tier of every fixture pool (0.3%, tick spacing 60). */
export const fixturePoolFee = 3000
/** Observation slots every fixture pool grows to, so a time-weighted price (`pool.observe`) can be read. */
export const fixturePoolObservations = 64

const usdcPerAccount = 1_000_000n * 10n ** 6n
const daiPerAccount = 1_000_000n * 10n ** 18n
const wbtcPerAccount = 100n * 10n ** 8n
const wbtcForGateway = 5_000_000n
const wethForGateway = 10n ** 18n
const ethUsdPrice = 3000n
const btcUsdPrice = 60_000n
// Full range for tick spacing 60 (fee 0.3%): the Uniswap min/max ticks rounded to the spacing.
const fullRangeTick = 887_220
// Every pool is as deep as 1,000 WETH (3,000,000 USD at the start prices): a swap of a few WETH moves it ~1%.
const liquidityWeth = 1_000n * 10n ** 18n
const liquidityUsdc = (liquidityWeth * ethUsdPrice) / 10n ** 12n
const liquidityWbtc = (liquidityWeth * ethUsdPrice) / btcUsdPrice / 10n ** 10n

// Explicit gas per transaction: no eth_estimateGas round trips. anvil charges only what is used, and every
// limit stays below the 2^24 per-transaction cap of recent hardforks.
const gasPerCall = 300_000n
const gasCreatePool = 6_000_000n
const gasMint = 1_000_000n
// 63 new observation slots, ~22,100 gas each.
const gasObservations = 2_000_000n

const abis = {
  mintable: parseAbi([
    'function mint(address to, uint256 amount)',
    'function approve(address, uint256) returns (bool)',
  ]),
  weth: parseAbi(['function deposit() payable']),
  transfer: parseAbi(['function transfer(address to, uint256 amount) returns (bool)']),
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
  pool: parseAbi(['function increaseObservationCardinalityNext(uint16 observationCardinalityNext)']),
}

/** alice.eth's avatar: an on-chain SVG, so viem's getEnsAvatar resolves it without any network. */
const aliceAvatar = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30" fill="#f59e0b"/>' +
    '<text x="32" y="42" font-size="28" text-anchor="middle" fill="#fff">A</text></svg>',
).toString('base64')}`

/**
 * The devnet fixtures (DESIGN §4) as a plan: every transaction the deployer (account 9) sends, in order from
 * nonce 0, and the addresses they leave. A pure function of the accounts, so the same on every fresh node:
 * {@link deployFixtures} sends the plan, and `fixturesAt` finds the fixtures of a running devnet from it. New
 * fixtures are appended at the end, so the addresses of the earlier ones never move.
 *
 * @example
 * const { steps, fixtures } = planFixtures(accounts)
 * fixtures.tokens.WBTC.address // '0x…': where the step with that nonce deploys it
 */
export function planFixtures(accounts: readonly Address[]): FixturePlan {
  const [a0, a1, a2] = accounts as [Address, Address, Address]
  const deployer = accounts[9] as Address

  const steps: FixtureStep[] = []
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
  const mintable = (functionName: 'mint' | 'approve', args: readonly [Address, bigint]) =>
    encodeFunctionData({ abi: abis.mintable, functionName, args })

  // Contracts, in a fixed order: their addresses follow from the deployer's nonce.
  const usdc = deploy('USDC', [[a0, a1, a2], usdcPerAccount])
  const dai = deploy('DAI', [[a0, a1, a2], daiPerAccount])
  const weth = deploy('WETH9')
  const nft = deploy('DemoNFT', [a1])
  const multi = deploy('DemoMulti', [a1, 10n])
  const ethUsdFeed = deploy('PriceFeed', [8, 'ETH / USD', ethUsdPrice * 10n ** 8n], 'ETH/USD feed')
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

  // Uniswap v3 0.3% pools with full-range liquidity from the deployer, created at the price of the amounts given.
  const addPool = (name: string, tokenA: Address, amountA: bigint, tokenB: Address, amountB: bigint) => {
    const aIsToken0 = BigInt(tokenA) < BigInt(tokenB)
    const [token0, token1] = aIsToken0 ? [tokenA, tokenB] : [tokenB, tokenA]
    const [amount0, amount1] = aIsToken0 ? [amountA, amountB] : [amountB, amountA]
    call(
      `create ${name} pool`,
      positionManager,
      encodeFunctionData({
        abi: abis.positionManager,
        functionName: 'createAndInitializePoolIfNecessary',
        args: [token0, token1, fixturePoolFee, sqrtPriceX96(amount0, amount1)],
      }),
      gasCreatePool,
    )
    call(
      `mint ${name} liquidity`,
      positionManager,
      encodeFunctionData({
        abi: abis.positionManager,
        functionName: 'mint',
        args: [
          {
            token0,
            token1,
            fee: fixturePoolFee,
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
    // The pool's CREATE2 address, as the factory computes it (the test checks it against factory.getPool).
    return getContractAddress({
      opcode: 'CREATE2',
      from: factory,
      salt: keccak256(
        encodeAbiParameters(parseAbiParameters('address, address, uint24'), [token0, token1, fixturePoolFee]),
      ),
      bytecodeHash: uniswapV3PoolInitCodeHash,
    })
  }
  const wrap = (amount: bigint) =>
    call(
      'wrap ETH',
      weth,
      encodeFunctionData({ abi: abis.weth, functionName: 'deposit' }),
      gasPerCall,
      amount,
    )

  // USDC/WETH at 3000 USDC per WETH.
  call('USDC for liquidity', usdc, mintable('mint', [deployer, liquidityUsdc]))
  wrap(liquidityWeth)
  call('approve USDC', usdc, mintable('approve', [positionManager, maxUint256]))
  call('approve WETH', weth, mintable('approve', [positionManager, maxUint256]))
  const usdcWeth = addPool('USDC/WETH', usdc, liquidityUsdc, weth, liquidityWeth)

  // Appended for standing orders (DESIGN §10): WBTC, a BTC/USD feed at 60,000, and USDC/WBTC (60,000 USDC per
  // WBTC) and WETH/WBTC (0.05 WBTC per WETH) pools, so an ETH/BTC move can be staged with prices that agree.
  const wbtc = deploy('WBTC', [[a1, a2], wbtcPerAccount])
  const btcUsdFeed = deploy('PriceFeed', [8, 'BTC / USD', btcUsdPrice * 10n ** 8n], 'BTC/USD feed')
  call('WBTC for liquidity', wbtc, mintable('mint', [deployer, 2n * liquidityWbtc]))
  call('USDC for WBTC liquidity', usdc, mintable('mint', [deployer, liquidityUsdc]))
  wrap(liquidityWeth)
  call('approve WBTC', wbtc, mintable('approve', [positionManager, maxUint256]))
  const usdcWbtc = addPool('USDC/WBTC', usdc, liquidityUsdc, wbtc, liquidityWbtc)
  const wethWbtc = addPool('WETH/WBTC', weth, liquidityWeth, wbtc, liquidityWbtc)
  for (const [name, pool] of [
    ['USDC/WETH', usdcWeth],
    ['USDC/WBTC', usdcWbtc],
    ['WETH/WBTC', wethWbtc],
  ] as const) {
    call(
      `${name} observations`,
      pool,
      encodeFunctionData({
        abi: abis.pool,
        functionName: 'increaseObservationCardinalityNext',
        args: [fixturePoolObservations],
      }),
      gasObservations,
    )
  }
  // The gateway's wallet (account 0) holds WETH and WBTC in equal dollar value, 1 WETH and 0.05 WBTC: a standing
  // order rebalancing them 50/50 has small, allowed trades to make when ETH/BTC moves (README "Standing orders").
  call('WBTC for account 0', wbtc, mintable('mint', [a0, wbtcForGateway]))
  wrap(wethForGateway)
  call(
    'WETH for account 0',
    weth,
    encodeFunctionData({ abi: abis.transfer, functionName: 'transfer', args: [a0, wethForGateway] }),
  )

  return {
    steps,
    fixtures: {
      accounts: [...accounts],
      tokens: {
        USDC: { address: usdc, decimals: 6 },
        WETH: { address: weth, decimals: 18 },
        DAI: { address: dai, decimals: 18 },
        WBTC: { address: wbtc, decimals: 8 },
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
        pools: { 'USDC/WETH': usdcWeth, 'USDC/WBTC': usdcWbtc, 'WETH/WBTC': wethWbtc },
      },
      feeds: {
        'ETH/USD': { address: ethUsdFeed, decimals: 8 },
        'BTC/USD': { address: btcUsdFeed, decimals: 8 },
      },
      ensUniversalResolver: universalResolver,
      ensRegistry: registry,
      adversarial: { revertingDecimals, absurdDecimals, homoglyphToken },
      deployer,
    },
  }
}

/** sqrt(amount1 / amount0) in Q64.96, the pool's initial price for a position holding these raw amounts. */
function sqrtPriceX96(amount0: bigint, amount1: bigint): bigint {
  return sqrtBigInt((amount1 << 192n) / amount0)
}

/**
 * floor(sqrt(value)) of a non-negative bigint (Newton's method).
 * @example sqrtBigInt(10n) // 3n
 */
export function sqrtBigInt(value: bigint): bigint {
  if (value < 2n) return value
  let x = value
  let y = (x + 1n) / 2n
  while (y < x) {
    x = y
    y = (x + value / x) / 2n
  }
  return x
}
