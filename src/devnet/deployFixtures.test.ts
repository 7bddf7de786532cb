import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  erc721Abi,
  formatUnits,
  getAddress,
  type Hex,
  http,
  isAddress,
  keccak256,
  namehash,
  type PublicClient,
  parseAbi,
  parseSignature,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { delegationCode, guardAddress, guardCodeHash, readGuardStatus } from '../chains/evm/guard.js'
import { devnetMnemonic } from './anvil.js'
import { deployFixtures } from './deployFixtures.js'
import { devnetChain } from './devnetChain.js'
import type { DevnetFixtures } from './fixtures.js'
import { jsonRpc } from './jsonRpc.js'
import { type Devnet, startDevnet } from './startDevnet.js'

let devnet: Devnet
let fx: DevnetFixtures
let client: PublicClient
let chain: Chain

beforeAll(async () => {
  devnet = await startDevnet()
  fx = devnet.fixtures
  chain = devnetChain(fx)
  client = createPublicClient({ chain, transport: http(fx.rpcUrl) })
})
afterAll(() => devnet?.stop())

const balanceOf = (token: Address, owner: Address) =>
  client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [owner] })

function decodeDataUri(uri: string, mime: string): string {
  const prefix = `data:${mime};base64,`
  expect(uri.startsWith(prefix)).toBe(true)
  return Buffer.from(uri.slice(prefix.length), 'base64').toString('utf8')
}

describe('deployFixtures', () => {
  it('describes the running chain with checksummed addresses', async () => {
    expect(fx.chain).toBe('devnet')
    expect(fx.chainId).toBe(31337)
    expect(await client.getChainId()).toBe(31337)
    expect(fx.accounts).toHaveLength(10)
    expect(fx.accounts[0]).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    expect(fx.deployer).toBe(fx.accounts[9])
    const addresses = JSON.stringify(fx).match(/0x[0-9a-fA-F]{40}/g) ?? []
    expect(addresses.length).toBeGreaterThan(20)
    for (const a of addresses) expect(a).toBe(getAddress(a))
  })

  it('puts all fixtures in block 1 (the guard after them) and restores automine and the block gas limit', async () => {
    expect(await client.getCode({ address: fx.tokens.USDC.address, blockNumber: 1n })).not.toBe('0x')
    for (const pool of Object.values(fx.uniswapV3.pools))
      expect(await client.getCode({ address: pool, blockNumber: 1n })).not.toBe('0x')
    expect(await client.getCode({ address: fx.tokens.WBTC.address, blockNumber: 1n })).not.toBe('0x')
    expect(await client.getCode({ address: fx.feeds['BTC/USD'].address, blockNumber: 1n })).not.toBe('0x')
    // The fixtures were deployed on an undelegated chain: the guard and the delegation come in later blocks.
    expect(await client.getCode({ address: fx.accounts[0]!, blockNumber: 1n })).toBeUndefined()
    expect(await client.getCode({ address: guardAddress, blockNumber: 1n })).toBeUndefined()
    const [automine] = await jsonRpc(fx.rpcUrl, [{ method: 'anvil_getAutomine' }])
    expect(automine).toBe(true)
    const genesis = await client.getBlock({ blockNumber: 0n })
    await jsonRpc(fx.rpcUrl, [{ method: 'evm_mine' }])
    expect((await client.getBlock()).gasLimit).toBe(genesis.gasLimit)
  })

  it('gives accounts 0–2 exactly 1,000,000 USDC and DAI, and leaves them untouched otherwise', async () => {
    for (const account of fx.accounts.slice(0, 3)) {
      expect(await balanceOf(fx.tokens.USDC.address, account)).toBe(1_000_000n * 10n ** 6n)
      expect(await balanceOf(fx.tokens.DAI.address, account)).toBe(1_000_000n * 10n ** 18n)
    }
    for (const account of fx.accounts.slice(1, 3)) {
      expect(await client.getTransactionCount({ address: account })).toBe(0)
      expect(await client.getBalance({ address: account })).toBe(10_000n * 10n ** 18n)
    }
    expect(await balanceOf(fx.tokens.USDC.address, fx.accounts[3]!)).toBe(0n)
  })

  it('deploys the guard through the CREATE2 factory and delegates account 0 to it with one type-4 transaction', async () => {
    const a0 = fx.accounts[0]!
    expect(fx.guard).toBe(guardAddress)
    expect(keccak256((await client.getCode({ address: guardAddress })) ?? '0x')).toBe(guardCodeHash)
    expect(await client.getCode({ address: a0 })).toBe(delegationCode(guardAddress))
    expect(await readGuardStatus({ client: client as never }, a0)).toEqual({
      mode: 'enforced',
      deployed: true,
      delegatesTo: guardAddress.toLowerCase(),
    })
    // Account 0 sent one transaction, which used two nonces (its own and the authorization's), and paid its gas.
    expect(await client.getTransactionCount({ address: a0 })).toBe(2)
    const spent = 10_000n * 10n ** 18n - (await client.getBalance({ address: a0 }))
    expect(spent > 0n && spent < 10n ** 16n).toBe(true)
  })

  it('deploys tokens with the advertised metadata and EIP-712 domains', async () => {
    const read = (address: Address, functionName: 'symbol' | 'decimals' | 'name') =>
      client.readContract({ address, abi: erc20Abi, functionName })
    expect(await read(fx.tokens.USDC.address, 'symbol')).toBe('USDC')
    expect(await read(fx.tokens.USDC.address, 'decimals')).toBe(fx.tokens.USDC.decimals)
    expect(await read(fx.tokens.WETH.address, 'symbol')).toBe('WETH')
    expect(await read(fx.tokens.WETH.address, 'decimals')).toBe(fx.tokens.WETH.decimals)
    expect(await read(fx.tokens.DAI.address, 'symbol')).toBe('DAI')
    expect(await read(fx.tokens.DAI.address, 'decimals')).toBe(fx.tokens.DAI.decimals)
    const usdcDomain = await client.getEip712Domain({ address: fx.tokens.USDC.address })
    expect(usdcDomain.domain).toMatchObject({ name: 'USD Coin', version: '2', chainId: 31337 })
    const abi = parseAbi(['function authorizationState(address, bytes32) view returns (bool)'])
    const used = await client.readContract({
      address: fx.tokens.USDC.address,
      abi,
      functionName: 'authorizationState',
      args: [fx.accounts[0]!, `0x${'ab'.repeat(32)}`],
    })
    expect(used).toBe(false)
  })

  it('mints NFTs 1–3 to account 1 with data: JSON metadata, token 2 carrying an injection attempt', async () => {
    const names: string[] = []
    for (const id of fx.nft.tokenIds) {
      const owner = await client.readContract({
        address: fx.nft.address,
        abi: erc721Abi,
        functionName: 'ownerOf',
        args: [BigInt(id)],
      })
      expect(owner).toBe(fx.nft.owner)
      const uri = await client.readContract({
        address: fx.nft.address,
        abi: erc721Abi,
        functionName: 'tokenURI',
        args: [BigInt(id)],
      })
      const meta = JSON.parse(decodeDataUri(uri, 'application/json')) as { name: string; image: string }
      expect(decodeDataUri(meta.image, 'image/svg+xml')).toContain('<svg')
      names.push(meta.name)
    }
    expect(fx.nft.owner).toBe(fx.accounts[1])
    expect(names[1]).toMatch(/Ignore previous instructions/)
    expect(names[1]).toContain('\u202e')
    expect(names[1]).toContain('\u200b')
    expect(names[0]).not.toMatch(/[\u202e\u200b]/)
  })

  it('gives account 1 ten of ERC-1155 id 1 with data: metadata', async () => {
    const abi = parseAbi([
      'function balanceOf(address, uint256) view returns (uint256)',
      'function uri(uint256) view returns (string)',
    ])
    const id = BigInt(fx.erc1155.id)
    const address = fx.erc1155.address
    const args = [fx.accounts[1]!, id] as const
    expect(await client.readContract({ address, abi, functionName: 'balanceOf', args })).toBe(10n)
    const uri = await client.readContract({ address, abi, functionName: 'uri', args: [id] })
    expect(JSON.parse(decodeDataUri(uri, 'application/json'))).toHaveProperty('name')
  })

  it('serves Multicall3 at the canonical address to viem multicall', async () => {
    expect(fx.multicall3).toBe('0xcA11bde05977b3631167028862bE2a173976CA11')
    const [usdc, dai] = await client.multicall({
      contracts: [
        {
          address: fx.tokens.USDC.address,
          abi: erc20Abi,
          functionName: 'balanceOf',
          args: [fx.accounts[0]!],
        },
        { address: fx.tokens.DAI.address, abi: erc20Abi, functionName: 'balanceOf', args: [fx.accounts[0]!] },
      ],
      allowFailure: false,
    })
    expect(usdc).toBe(1_000_000n * 10n ** 6n)
    expect(dai).toBe(1_000_000n * 10n ** 18n)
  })

  it('resolves ENS forward, reverse, text and avatar through viem', async () => {
    expect(await client.getEnsAddress({ name: 'alice.eth' })).toBe(fx.accounts[1])
    expect(await client.getEnsAddress({ name: 'bob.eth' })).toBe(fx.accounts[2])
    expect(fx.ens).toEqual({ 'alice.eth': fx.accounts[1], 'bob.eth': fx.accounts[2] })
    expect(await client.getEnsName({ address: fx.accounts[1]! })).toBe('alice.eth')
    expect(await client.getEnsName({ address: fx.accounts[2]! })).toBe('bob.eth')
    expect(await client.getEnsText({ name: 'bob.eth', key: 'description' })).toBe('Devnet account 2')
    const avatar = await client.getEnsAvatar({ name: 'alice.eth' })
    expect(decodeDataUri(avatar ?? '', 'image/svg+xml')).toContain('<svg')
    expect(await client.getEnsAvatar({ name: 'bob.eth' })).toBeNull()
  })

  it('wires the ReverseRegistrar and findResolver as ENS clients expect', async () => {
    const registryAbi = parseAbi([
      'function owner(bytes32) view returns (address)',
      'function resolver(bytes32) view returns (address)',
    ])
    const aliceResolver = await client.readContract({
      address: fx.ensRegistry,
      abi: registryAbi,
      functionName: 'resolver',
      args: [namehash('alice.eth')],
    })
    expect(await client.getEnsResolver({ name: 'alice.eth' })).toBe(aliceResolver)
    const reverseRegistrar = await client.readContract({
      address: fx.ensRegistry,
      abi: registryAbi,
      functionName: 'owner',
      args: [namehash('addr.reverse')],
    })
    const wallet = createWalletClient({ account: fx.accounts[1]!, chain, transport: http(fx.rpcUrl) })
    const setPrimaryName = async (name: string) => {
      const hash = await wallet.writeContract({
        chain,
        address: reverseRegistrar,
        abi: parseAbi(['function setName(string name) returns (bytes32)']),
        functionName: 'setName',
        args: [name],
      })
      expect((await client.waitForTransactionReceipt({ hash })).status).toBe('success')
    }
    // A primary name that does not resolve back to the address is not reported (forward verification).
    await setPrimaryName('bob.eth')
    expect(await client.getEnsName({ address: fx.accounts[1]! })).toBeNull()
    await setPrimaryName('alice.eth')
    expect(await client.getEnsName({ address: fx.accounts[1]! })).toBe('alice.eth')
  })

  it('answers null for unknown ENS names and addresses without a primary name', async () => {
    expect(await client.getEnsAddress({ name: 'nobody.eth' })).toBeNull()
    expect(await client.getEnsAddress({ name: 'sub.alice.eth' })).toBeNull()
    expect(await client.getEnsName({ address: fx.accounts[3]! })).toBeNull()
    expect(await client.getEnsText({ name: 'alice.eth', key: 'url' })).toBeNull()
  })

  it('quotes ~3000 USDC for 1 WETH on the Uniswap v3 pool', async () => {
    const factoryAbi = parseAbi(['function getPool(address, address, uint24) view returns (address)'])
    const pool = await client.readContract({
      address: fx.uniswapV3.factory,
      abi: factoryAbi,
      functionName: 'getPool',
      args: [fx.tokens.WETH.address, fx.tokens.USDC.address, 3000],
    })
    expect(pool).toBe(fx.uniswapV3.pools['USDC/WETH'])
    const quoterAbi = parseAbi([
      'struct QuoteExactInputSingleParams { address tokenIn; address tokenOut; uint256 amountIn; uint24 fee; uint160 sqrtPriceLimitX96; }',
      'function quoteExactInputSingle(QuoteExactInputSingleParams params) returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate)',
    ])
    const { result } = await client.simulateContract({
      address: fx.uniswapV3.quoter,
      abi: quoterAbi,
      functionName: 'quoteExactInputSingle',
      args: [
        {
          tokenIn: fx.tokens.WETH.address,
          tokenOut: fx.tokens.USDC.address,
          amountIn: 10n ** 18n,
          fee: 3000,
          sqrtPriceLimitX96: 0n,
        },
      ],
    })
    const usdcOut = Number(formatUnits(result[0], 6))
    expect(usdcOut).toBeGreaterThan(3000 * 0.98)
    expect(usdcOut).toBeLessThan(3000 * 1.02)
  })

  it('reports 3000.00 USD per ETH from the price feed', async () => {
    const abi = parseAbi([
      'function decimals() view returns (uint8)',
      'function description() view returns (string)',
      'function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)',
    ])
    const address = fx.feeds['ETH/USD'].address
    expect(await client.readContract({ address, abi, functionName: 'decimals' })).toBe(
      fx.feeds['ETH/USD'].decimals,
    )
    expect(await client.readContract({ address, abi, functionName: 'description' })).toBe('ETH / USD')
    const [roundId, answer, , updatedAt] = await client.readContract({
      address,
      abi,
      functionName: 'latestRoundData',
    })
    expect(answer).toBe(3000n * 10n ** 8n)
    expect(roundId).toBe(1n)
    expect(updatedAt).toBeGreaterThan(0n)
  })

  it('keeps the addresses every earlier fixture always had (new fixtures are appended)', () => {
    // Deterministic from the deployer's nonce: what the demo policy, READMEs and saved fixture files name.
    expect(fx.tokens.USDC.address).toBe('0x700b6A60ce7EaaEA56F065753d8dcB9653dbAD35')
    expect(fx.tokens.WETH.address).toBe('0xb19b36b1456E65E3A6D514D3F715f204BD59f431')
    expect(fx.feeds['ETH/USD'].address).toBe('0xe1DA8919f262Ee86f9BE05059C9280142CF23f48')
    expect(fx.uniswapV3.router).toBe('0x82C6D3ed4cD33d8EC1E51d0B5Cc1d822Eaa0c3dC')
    expect(fx.uniswapV3.pools['USDC/WETH']).toBe('0x35E6A7eb0C3D7D4F0994d1E82141a332b2e170F8')
    expect(fx.tokens.WBTC.address).toBe('0x4C073a92B1C8Fb55313102Ab412fb7F1704bcBdD')
    expect(fx.feeds['BTC/USD'].address).toBe('0x90bB87c6258aD0D309D2f3a263d3Bc7B0B9F522D')
  })

  it('deploys WBTC (8 decimals, 100 to accounts 1–2, 0.05 and 1 WETH to account 0, minted by the deployer only)', async () => {
    const wbtc = fx.tokens.WBTC.address
    expect(fx.tokens.WBTC.decimals).toBe(8)
    expect(await client.readContract({ address: wbtc, abi: erc20Abi, functionName: 'decimals' })).toBe(8)
    expect(await client.readContract({ address: wbtc, abi: erc20Abi, functionName: 'symbol' })).toBe('WBTC')
    expect(await client.readContract({ address: wbtc, abi: erc20Abi, functionName: 'name' })).toBe(
      'Wrapped BTC',
    )
    for (const account of fx.accounts.slice(1, 3))
      expect(await balanceOf(wbtc, account)).toBe(100n * 10n ** 8n)
    expect(await balanceOf(wbtc, fx.accounts[3]!)).toBe(0n)
    // The gateway wallet: equal dollar values at 3,000 and 60,000, for a standing order's 50/50 rebalance.
    expect(await balanceOf(wbtc, fx.accounts[0]!)).toBe(5_000_000n)
    expect(await balanceOf(fx.tokens.WETH.address, fx.accounts[0]!)).toBe(10n ** 18n)
    const abi = parseAbi(['function mint(address to, uint256 amount)', 'error NotMinter(address caller)'])
    await expect(
      client.simulateContract({
        account: fx.accounts[1]!,
        address: wbtc,
        abi,
        functionName: 'mint',
        args: [fx.accounts[1]!, 1n],
      }),
    ).rejects.toThrow(/NotMinter/)
  })

  it('reports 60,000.00 USD per BTC from the BTC/USD feed', async () => {
    const abi = parseAbi([
      'function decimals() view returns (uint8)',
      'function description() view returns (string)',
      'function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)',
    ])
    const address = fx.feeds['BTC/USD'].address
    expect(fx.feeds['BTC/USD'].decimals).toBe(8)
    expect(await client.readContract({ address, abi, functionName: 'decimals' })).toBe(8)
    expect(await client.readContract({ address, abi, functionName: 'description' })).toBe('BTC / USD')
    const [roundId, answer] = await client.readContract({ address, abi, functionName: 'latestRoundData' })
    expect(answer).toBe(60_000n * 10n ** 8n)
    expect(roundId).toBe(1n)
  })

  it('creates the USDC/WBTC and WETH/WBTC pools at the feed prices, 1,000 WETH deep, 64 observations each', async () => {
    const factoryAbi = parseAbi(['function getPool(address, address, uint24) view returns (address)'])
    const poolAbi = parseAbi([
      'function slot0() view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked)',
      'function token0() view returns (address)',
      'function observe(uint32[] secondsAgos) view returns (int56[] tickCumulatives, uint160[] secondsPerLiquidityCumulativeX128s)',
    ])
    const { USDC, WETH, WBTC } = fx.tokens
    // [pool, base, quote, quote per base]
    const pools = [
      ['USDC/WETH', WETH, USDC, 3000],
      ['USDC/WBTC', WBTC, USDC, 60_000],
      ['WETH/WBTC', WETH, WBTC, 0.05],
    ] as const
    for (const [name, base, quote, expected] of pools) {
      const address = fx.uniswapV3.pools[name]
      expect(
        await client.readContract({
          address: fx.uniswapV3.factory,
          abi: factoryAbi,
          functionName: 'getPool',
          args: [base.address, quote.address, 3000],
        }),
        name,
      ).toBe(address)
      const [sqrtPriceX96, , , , cardinalityNext] = await client.readContract({
        address,
        abi: poolAbi,
        functionName: 'slot0',
      })
      expect(cardinalityNext, name).toBe(64)
      const token0 = await client.readContract({ address, abi: poolAbi, functionName: 'token0' })
      // token1 per token0 in display units, then quote per base.
      const [t0, t1] = token0 === base.address ? [base, quote] : [quote, base]
      const oneInZero = (Number(sqrtPriceX96) / 2 ** 96) ** 2 * 10 ** (t0.decimals - t1.decimals)
      const price = token0 === base.address ? oneInZero : 1 / oneInZero
      expect(Math.abs(price / expected - 1), name).toBeLessThan(1e-9)
      // A time-weighted price can be read: observe() answers for the block the pool was created in.
      await expect(
        client.readContract({ address, abi: poolAbi, functionName: 'observe', args: [[0]] }),
      ).resolves.toBeDefined()
    }
    // 1,000 WETH deep: the pools hold 1,000 WETH, 3,000,000 USDC and 50 WBTC each side.
    const wethWbtc = fx.uniswapV3.pools['WETH/WBTC']
    const usdcWbtc = fx.uniswapV3.pools['USDC/WBTC']
    const near = (actual: bigint, expected: bigint) =>
      expect(Number(actual) / Number(expected)).toBeCloseTo(1, 6)
    near(await balanceOf(WETH.address, wethWbtc), 1_000n * 10n ** 18n)
    near(await balanceOf(WBTC.address, wethWbtc), 50n * 10n ** 8n)
    near(await balanceOf(USDC.address, usdcWbtc), 3_000_000n * 10n ** 6n)
    near(await balanceOf(WBTC.address, usdcWbtc), 50n * 10n ** 8n)
  })

  it('moves the WETH/WBTC price by well under 1% for a 3 WETH swap', async () => {
    const quoterAbi = parseAbi([
      'struct QuoteExactInputSingleParams { address tokenIn; address tokenOut; uint256 amountIn; uint24 fee; uint160 sqrtPriceLimitX96; }',
      'function quoteExactInputSingle(QuoteExactInputSingleParams params) returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate)',
    ])
    const { result } = await client.simulateContract({
      address: fx.uniswapV3.quoter,
      abi: quoterAbi,
      functionName: 'quoteExactInputSingle',
      args: [
        {
          tokenIn: fx.tokens.WETH.address,
          tokenOut: fx.tokens.WBTC.address,
          amountIn: 3n * 10n ** 18n,
          fee: 3000,
          sqrtPriceLimitX96: 0n,
        },
      ],
    })
    const wbtcOut = Number(formatUnits(result[0], 8))
    // 3 WETH at 0.05 less the 0.3% fee and ~0.3% of price impact.
    expect(wbtcOut).toBeGreaterThan(0.15 * 0.99)
    expect(wbtcOut).toBeLessThan(0.15)
  })

  it('deploys the hostile tokens', async () => {
    const { revertingDecimals, absurdDecimals, homoglyphToken } = fx.adversarial
    await expect(
      client.readContract({ address: revertingDecimals, abi: erc20Abi, functionName: 'decimals' }),
    ).rejects.toThrow()
    expect(
      await client.readContract({ address: absurdDecimals, abi: erc20Abi, functionName: 'decimals' }),
    ).toBe(77)
    const symbol = await client.readContract({
      address: homoglyphToken,
      abi: erc20Abi,
      functionName: 'symbol',
    })
    expect(symbol).toBe('USD\u0421')
    expect(symbol).not.toBe('USDC')
    expect(
      await client.readContract({ address: homoglyphToken, abi: erc20Abi, functionName: 'name' }),
    ).toContain('\u200b')
    expect(await balanceOf(homoglyphToken, fx.accounts[0]!)).toBe(1_000_000n * 10n ** 6n)
  })

  // Runs after the balance checks above: it moves USDC from account 0.
  it('settles EIP-3009 authorizations (v,r,s and packed signature) and EIP-2612 permits on USDC', async () => {
    const payer = mnemonicToAccount(devnetMnemonic, { addressIndex: 0 })
    expect(payer.address).toBe(fx.accounts[0])
    const facilitator = createWalletClient({
      account: fx.accounts[3]!,
      chain: client.chain,
      transport: http(fx.rpcUrl),
    })
    const usdc = fx.tokens.USDC.address
    const payee = fx.accounts[4]!
    const domain = { name: 'USD Coin', version: '2', chainId: fx.chainId, verifyingContract: usdc } as const
    const types = {
      TransferWithAuthorization: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    } as const
    const vrsAbi = parseAbi([
      'function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, uint8 v, bytes32 r, bytes32 s)',
    ])
    // The FiatToken v2.2 overload taking a packed (or ERC-1271) signature.
    const packedAbi = parseAbi([
      'function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature)',
      'error ERC3009UsedAuthorization(address authorizer, bytes32 nonce)',
    ])
    const abi = parseAbi([
      'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
      'function allowance(address, address) view returns (uint256)',
      'function nonces(address) view returns (uint256)',
    ])
    const authorize = async (nonce: Hex) => {
      const message = {
        from: payer.address,
        to: payee,
        value: 1_500_000n,
        validAfter: 0n,
        validBefore: BigInt(Math.floor(Date.now() / 1000) + 600),
        nonce,
      }
      const signature = await payer.signTypedData({
        domain,
        types,
        primaryType: 'TransferWithAuthorization',
        message,
      })
      const args = [
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        nonce,
      ] as const
      return { args, signature }
    }

    const first = await authorize(`0x${'11'.repeat(32)}`)
    const { r, s, v } = parseSignature(first.signature)
    const hash = await facilitator.writeContract({
      chain,
      address: usdc,
      abi: vrsAbi,
      functionName: 'transferWithAuthorization',
      args: [...first.args, Number(v), r, s],
    })
    expect((await client.waitForTransactionReceipt({ hash })).status).toBe('success')
    const second = await authorize(`0x${'22'.repeat(32)}`)
    const hash2 = await facilitator.writeContract({
      chain,
      address: usdc,
      abi: packedAbi,
      functionName: 'transferWithAuthorization',
      args: [...second.args, second.signature],
    })
    expect((await client.waitForTransactionReceipt({ hash: hash2 })).status).toBe('success')
    expect(await balanceOf(usdc, payee)).toBe(3_000_000n)
    // Replaying a settled authorization fails: the nonce is spent.
    await expect(
      client.simulateContract({
        account: fx.accounts[3]!,
        address: usdc,
        abi: packedAbi,
        functionName: 'transferWithAuthorization',
        args: [...second.args, second.signature],
      }),
    ).rejects.toThrow(/ERC3009UsedAuthorization/)

    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600)
    const permitSig = parseSignature(
      await payer.signTypedData({
        domain,
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
        message: { owner: payer.address, spender: payee, value: 42n, nonce: 0n, deadline },
      }),
    )
    const hash3 = await facilitator.writeContract({
      chain,
      address: usdc,
      abi,
      functionName: 'permit',
      args: [payer.address, payee, 42n, deadline, Number(permitSig.v), permitSig.r, permitSig.s],
    })
    expect((await client.waitForTransactionReceipt({ hash: hash3 })).status).toBe('success')
    expect(
      await client.readContract({
        address: usdc,
        abi,
        functionName: 'allowance',
        args: [payer.address, payee],
      }),
    ).toBe(42n)
  })

  it('refuses to deploy twice on the same node', async () => {
    await expect(deployFixtures(fx.rpcUrl, fx.chainId)).rejects.toThrow(/fresh node/)
    await expect(deployFixtures(fx.rpcUrl, 1)).rejects.toThrow(/chain id 31337, expected 1/)
  })
})

describe('startDevnet', () => {
  it('deploys the same addresses on another chain id and keeps the name devnet unless told otherwise', async () => {
    const other = await startDevnet({ chainId: 31338 })
    const named = await startDevnet({ chainId: 31339, chainName: 'devnet-b' })
    try {
      expect(other.chainId).toBe(31338)
      expect(other.fixtures.chainId).toBe(31338)
      expect(other.fixtures.chain).toBe('devnet')
      expect(named.fixtures.chain).toBe('devnet-b')
      expect(other.rpcUrl).not.toBe(fx.rpcUrl)
      expect(other.fixtures.rpcUrl).toBe(other.rpcUrl)
      // Every address matches the 31337 devnet: deployment depends on the deployer's nonce only.
      expect({ ...other.fixtures, chain: fx.chain, chainId: fx.chainId, rpcUrl: fx.rpcUrl }).toEqual(fx)
      expect(isAddress(other.fixtures.uniswapV3.pools['USDC/WETH'])).toBe(true)
    } finally {
      await Promise.all([other.stop(), named.stop()])
    }
  })
})
