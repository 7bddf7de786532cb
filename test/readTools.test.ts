import { createPublicClient, createWalletClient, erc20Abi, http, parseUnits } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'
import { startCountingProxy } from './rpcProxy.js'

const fixtures = useDevnet()
const chain = devnetChain(fixtures)
const viem = createPublicClient({ chain, transport: http(fixtures.rpcUrl) })
let mcp: Awaited<ReturnType<typeof connectInMemory>>
let proxy: Awaited<ReturnType<typeof startCountingProxy>>

beforeAll(async () => {
  proxy = await startCountingProxy(fixtures.rpcUrl)
  mcp = await connectInMemory({
    devnet: { ...fixtures, rpcUrl: proxy.url },
    env: { AIRLOCK_RPC_BASE: 'http://alice:s3cretpw@127.0.0.1:1/v2/APIKEY0123456789abcdef' },
  })
})
afterAll(async () => {
  await mcp.close()
  await proxy.close()
})

describe('tools/list', () => {
  it('lists every tool with strict input, an output schema, and honest read-only annotations', async () => {
    const { tools } = await mcp.client.listTools()
    const names = tools.map((t) => t.name)
    for (const name of [
      'list_chains',
      'get_balance',
      'get_token_balances',
      'get_portfolio',
      'get_token_info',
      'get_allowance',
      'read_contract',
      'multicall',
      'get_nft',
      'resolve_ens',
      'lookup_ens',
      'get_transaction',
      'get_block',
      'estimate_fees',
      'quote_swap',
      'get_price',
    ])
      expect(names).toContain(name)
    const writes = [
      'transfer',
      'approve',
      'write_contract',
      'swap',
      'sign_typed_data',
      'cancel_intent',
      'speed_up_intent',
      'fetch_with_payment',
      'create_standing_order',
      'cancel_standing_order',
    ]
    for (const t of tools) {
      expect(t.outputSchema?.type, t.name).toBe('object')
      expect(t.inputSchema.additionalProperties, t.name).toBe(false)
      expect(t.annotations?.readOnlyHint, t.name).toBe(!writes.includes(t.name))
    }
  })
})

describe('list_chains', () => {
  it('shows 30+ mainnets and the devnet with its own endpoint', async () => {
    const { chains } = ok(await mcp.call('list_chains', {}))
    expect(chains.filter((c: { testnet: boolean }) => !c.testnet).length).toBeGreaterThanOrEqual(30)
    expect(chains.find((c: { chain: string }) => c.chain === 'devnet')).toMatchObject({
      caip2: 'eip155:31337',
      family: 'evm',
      nativeAssetId: 'eip155:31337/slip44:60',
      endpointSource: 'devnet',
    })
    const configured = ok(await mcp.call('list_chains', { configuredOnly: true })).chains
    expect(configured.map((c: { chain: string }) => c.chain).sort()).toEqual(['base', 'devnet'])
  })
})

describe('get_balance', () => {
  it('returns the same balance as viem, raw and formatted, by name, id and CAIP-2', async () => {
    const expected = await viem.getBalance({ address: fixtures.accounts[5]! })
    for (const ref of ['devnet', 31337, '31337', 'eip155:31337']) {
      const out = ok(
        await mcp.call('get_balance', { chain: ref, address: fixtures.accounts[5]!.toLowerCase() }),
      )
      expect(out).toMatchObject({
        chain: 'devnet',
        caip2: 'eip155:31337',
        address: fixtures.accounts[5],
        symbol: 'ETH',
      })
      expect(out.balance.raw).toBe(expected.toString())
      expect(out.balance.formatted).toBe(String(Number(expected / 10n ** 18n)))
    }
  })

  it('rejects bad input with a clear error naming the field, and keeps serving (ADVERSARIAL 1–3, 6, 14, 44)', async () => {
    const address = fixtures.accounts[0]!
    expect(
      err(await mcp.call('get_balance', { chain: 'devnet', address: address.slice(0, 41) })),
    ).toMatchObject({
      code: 'INVALID_ADDRESS',
      field: 'address',
    })
    const unknown = err(await mcp.call('get_balance', { chain: 'narnia', address }))
    expect(unknown.code).toBe('CHAIN_NOT_FOUND')
    expect(unknown.hints?.join(' ')).toMatch(/list_chains/)
    // An EVM address on a Solana cluster (ADVERSARIAL 59): named as such, before any request is made.
    for (const chain of ['solana-devnet', 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1']) {
      const solana = err(await mcp.call('get_balance', { chain, address }))
      expect(solana).toMatchObject({ code: 'INVALID_ADDRESS', field: 'address' })
      expect(solana.message).toMatch(/EVM address.*Solana chain/)
    }
    const extra = err(await mcp.call('get_balance', { chain: 'devnet', address, block: 'latest' }))
    expect(extra).toMatchObject({ code: 'INVALID_INPUT' })
    expect(extra.message).toMatch(/"block"/)
    expect(err(await mcp.call('get_balance', { chain: 'devnet' })).message).toMatch(
      /Missing required field "address"/,
    )
    expect(err(await mcp.call('get_balance', { chain: 'devnet', address: 'alice.eth' })).message).toMatch(
      /resolve_ens/,
    )
    await expect(mcp.client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool/)
    // still serving
    ok(await mcp.call('get_balance', { chain: 'devnet', address }))
  })
})

describe('get_token_balances', () => {
  it('reads native + known tokens in exactly one RPC call', async () => {
    proxy.reset()
    const out = ok(await mcp.call('get_token_balances', { chain: 'devnet', address: fixtures.accounts[1] }))
    expect(proxy.total('eth_call')).toBe(1)
    const usdc = out.tokens.find((t: { token: string }) => t.token === fixtures.tokens.USDC.address)
    expect(usdc).toMatchObject({ decimals: 6, verified: true, symbol: { value: 'USDC', untrusted: true } })
    const onChain = await viem.readContract({
      address: fixtures.tokens.USDC.address,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [fixtures.accounts[1]!],
    })
    expect(usdc.balance.raw).toBe(onChain.toString())
    expect(out.native.balance.raw).toBe(
      (await viem.getBalance({ address: fixtures.accounts[1]! })).toString(),
    )
  })

  it('still makes one call for 100 tokens, and reports bad tokens per entry (ADVERSARIAL 12, 39)', async () => {
    const { revertingDecimals, absurdDecimals, homoglyphToken } = fixtures.adversarial
    const many = [revertingDecimals, absurdDecimals, homoglyphToken, fixtures.tokens.DAI.address]
    for (let i = many.length; i < 100; i++) many.push(`0x${(0x1000 + i).toString(16).padStart(40, '0')}`)
    proxy.reset()
    const out = ok(
      await mcp.call('get_token_balances', { chain: 'devnet', address: fixtures.accounts[0], tokens: many }),
    )
    expect(proxy.total('eth_call')).toBe(1)
    expect(out.tokens).toHaveLength(100)
    const by = (a: string) =>
      out.tokens.find((t: { token: string }) => t.token.toLowerCase() === a.toLowerCase())
    expect(by(revertingDecimals).error.code).toBe('TOKEN_NOT_SUPPORTED')
    expect(by(absurdDecimals).error.code).toBe('TOKEN_NOT_SUPPORTED')
    expect(by(homoglyphToken)).toMatchObject({ verified: false, decimals: 6 })
    expect(by(fixtures.tokens.DAI.address)).toMatchObject({ verified: true })
    expect(by(many[50]!).error).toBeDefined() // no contract there
  })
})

describe('get_portfolio', () => {
  it('reads chains in parallel and reports a failing chain without failing the call', async () => {
    const out = ok(
      await mcp.call('get_portfolio', { address: fixtures.accounts[1], chains: ['devnet', 'base'] }),
    )
    const devnet = out.chains.find((c: { chain: string }) => c.chain === 'devnet')
    const base = out.chains.find((c: { chain: string }) => c.chain === 'base')
    // Every known devnet token account 1 holds from the start (WBTC since the standing-order fixtures).
    expect(devnet.tokens.length).toBe(4)
    expect(base.error.code).toBe('RPC_UNAVAILABLE')
  })

  it('never shows endpoint credentials in errors or resources (ADVERSARIAL 45)', async () => {
    const failed = await mcp.call('get_balance', { chain: 'base', address: fixtures.accounts[0] })
    expect(err(failed).code).toBe('RPC_UNAVAILABLE')
    const chains = await mcp.client.readResource({ uri: 'airlock://chains' })
    for (const text of [JSON.stringify(failed), JSON.stringify(chains)]) {
      expect(text).not.toMatch(/s3cretpw|APIKEY0123456789abcdef|alice/)
    }
    expect(JSON.stringify(chains)).toMatch(/127\.0\.0\.1:1/)
  })
})

describe('get_token_info', () => {
  it('describes USDC as a verified 6-decimal token', async () => {
    const out = ok(await mcp.call('get_token_info', { chain: 'devnet', token: fixtures.tokens.USDC.address }))
    expect(out).toMatchObject({ decimals: 6, verified: true, name: { value: 'USD Coin', untrusted: true } })
    expect(BigInt(out.totalSupply.raw)).toBeGreaterThanOrEqual(3_000_000n * 10n ** 6n)
  })

  it('marks a homoglyph symbol unverified and strips invisible characters (ADVERSARIAL 39)', async () => {
    const out = ok(
      await mcp.call('get_token_info', { chain: 'devnet', token: fixtures.adversarial.homoglyphToken }),
    )
    expect(out.verified).toBe(false)
    expect(out.warnings.join(' ')).toMatch(/lookalike/)
    expect(out.name.value).not.toMatch(/[\u200b-\u200f]/)
  })

  it('refuses a token whose decimals() reverts or is absurd (ADVERSARIAL 12)', async () => {
    for (const token of [fixtures.adversarial.revertingDecimals, fixtures.adversarial.absurdDecimals])
      expect(err(await mcp.call('get_token_info', { chain: 'devnet', token })).code).toBe(
        'TOKEN_NOT_SUPPORTED',
      )
  })
})

describe('get_allowance', () => {
  it('reads an allowance set on chain', async () => {
    const owner = mnemonicToAccount('test test test test test test test test test test test junk', {
      addressIndex: 2,
    })
    const wallet = createWalletClient({ account: owner, chain, transport: http(fixtures.rpcUrl) })
    const spender = fixtures.accounts[8]!
    const hash = await wallet.writeContract({
      address: fixtures.tokens.USDC.address,
      abi: erc20Abi,
      functionName: 'approve',
      args: [spender, parseUnits('12.5', 6)],
    })
    await viem.waitForTransactionReceipt({ hash })
    const out = ok(
      await mcp.call('get_allowance', {
        chain: 'devnet',
        token: fixtures.tokens.USDC.address,
        owner: owner.address,
        spender,
      }),
    )
    expect(out.allowance).toEqual({ raw: '12500000', formatted: '12.5' })
    expect(out.unlimited).toBe(false)
  })
})

describe('read_contract and multicall', () => {
  it('decodes a view call given a human-readable signature', async () => {
    const out = ok(
      await mcp.call('read_contract', {
        chain: 'devnet',
        address: fixtures.tokens.USDC.address,
        function: 'balanceOf(address) returns (uint256)',
        args: [fixtures.accounts[1]],
      }),
    )
    expect(out.result).toMatchObject({ value: '1000000000000', untrusted: true })
    expect(out.function).toBe('balanceOf(address)')
  })

  it('accepts an ABI item and decodes strings as untrusted data', async () => {
    const out = ok(
      await mcp.call('read_contract', {
        chain: 'devnet',
        address: fixtures.tokens.USDC.address,
        function: {
          type: 'function',
          name: 'symbol',
          inputs: [],
          outputs: [{ type: 'string' }],
          stateMutability: 'view',
        },
      }),
    )
    expect(out.result.value).toBe('USDC')
  })

  it('rejects bad signatures and arguments, and reports reverts', async () => {
    const base = { chain: 'devnet', address: fixtures.tokens.USDC.address }
    expect(err(await mcp.call('read_contract', { ...base, function: 'balanceOf(address' })).code).toBe(
      'INVALID_INPUT',
    )
    const badArg = err(
      await mcp.call('read_contract', {
        ...base,
        function: 'balanceOf(address) returns (uint256)',
        args: ['0x1234'],
      }),
    )
    expect(badArg).toMatchObject({ code: 'INVALID_INPUT', field: 'args.0' })
    expect(
      err(
        await mcp.call('read_contract', {
          ...base,
          function: 'balanceOf(address) returns (uint256)',
          args: [],
        }),
      ).message,
    ).toMatch(/takes 1 argument/)
    const reverted = err(
      await mcp.call('read_contract', {
        ...base,
        function: 'ownerOf(uint256) returns (address)',
        args: ['1'],
      }),
    )
    expect(reverted.code).toBe('CONTRACT_REVERTED')
  })

  it('runs several reads in one call, each succeeding or failing alone', async () => {
    proxy.reset()
    const out = ok(
      await mcp.call('multicall', {
        chain: 'devnet',
        calls: [
          { address: fixtures.tokens.USDC.address, function: 'decimals() returns (uint8)' },
          { address: fixtures.tokens.WETH.address, function: 'symbol() returns (string)' },
          { address: fixtures.adversarial.revertingDecimals, function: 'decimals() returns (uint8)' },
        ],
      }),
    )
    expect(proxy.total('eth_call')).toBe(1)
    expect(out.results[0]).toMatchObject({ status: 'success', result: { value: 6 } })
    expect(out.results[1]).toMatchObject({ status: 'success', result: { value: 'WETH' } })
    expect(out.results[2].status).toBe('failure')
  })
})

describe('get_nft', () => {
  it('returns owner and data: metadata of an ERC-721 token', async () => {
    const out = ok(
      await mcp.call('get_nft', { chain: 'devnet', contract: fixtures.nft.address, tokenId: '1' }),
    )
    expect(out).toMatchObject({ standard: 'erc721', owner: fixtures.nft.owner, metadataError: null })
    expect(out.metadata.untrusted).toBe(true)
    expect(typeof out.metadata.value.name).toBe('string')
  })

  it('returns a prompt-injection name as sanitized, marked data and changes nothing else (ADVERSARIAL 38)', async () => {
    const before = await viem.getBalance({ address: fixtures.accounts[1]! })
    const out = ok(
      await mcp.call('get_nft', { chain: 'devnet', contract: fixtures.nft.address, tokenId: '2' }),
    )
    expect(out.metadata.untrusted).toBe(true)
    expect(out.metadata.sanitized).toBe(true)
    expect(out.metadata.value.name).toMatch(/ignore previous instructions/i)
    expect(out.metadata.value.name).not.toMatch(/[\u200b\u202e]/)
    expect(await viem.getBalance({ address: fixtures.accounts[1]! })).toBe(before)
  })

  it('reads an ERC-1155 balance', async () => {
    const out = ok(
      await mcp.call('get_nft', {
        chain: 'devnet',
        contract: fixtures.erc1155.address,
        tokenId: fixtures.erc1155.id,
        owner: fixtures.nft.owner,
      }),
    )
    expect(out.standard).toBe('erc1155')
    expect(BigInt(out.balance)).toBeGreaterThan(0n)
  })

  it('says so when the contract is not an NFT or the token does not exist', async () => {
    expect(
      err(
        await mcp.call('get_nft', { chain: 'devnet', contract: fixtures.tokens.USDC.address, tokenId: '1' }),
      ).code,
    ).toBe('NOT_FOUND')
    expect(
      err(await mcp.call('get_nft', { chain: 'devnet', contract: fixtures.nft.address, tokenId: '999' }))
        .field,
    ).toBe('tokenId')
  })
})

describe('ENS', () => {
  it('resolves alice.eth forward, with the avatar record as untrusted text', async () => {
    const out = ok(await mcp.call('resolve_ens', { name: 'Alice.eth' }))
    expect(out).toMatchObject({ name: 'alice.eth', address: fixtures.ens['alice.eth'], chain: 'devnet' })
    expect(out.avatar.untrusted).toBe(true)
  })

  it('looks up a forward-verified primary name, and none for an address without one', async () => {
    expect(ok(await mcp.call('lookup_ens', { address: fixtures.ens['bob.eth'] }))).toMatchObject({
      name: { value: 'bob.eth' },
      verified: true,
    })
    expect(ok(await mcp.call('lookup_ens', { address: fixtures.accounts[6] }))).toMatchObject({
      name: null,
      verified: false,
    })
  })

  it('rejects names with invisible characters and reports unknown names', async () => {
    expect(err(await mcp.call('resolve_ens', { name: 'ali\u200bce.eth' })).message).toMatch(/U\+200B/)
    expect(err(await mcp.call('resolve_ens', { name: 'nobody-here.eth' })).code).toBe('NOT_FOUND')
  })
})

describe('transactions, blocks and fees', () => {
  it('returns a transaction with its receipt and decoded token transfer', async () => {
    const sender = mnemonicToAccount('test test test test test test test test test test test junk', {
      addressIndex: 2,
    })
    const wallet = createWalletClient({ account: sender, chain, transport: http(fixtures.rpcUrl) })
    const hash = await wallet.writeContract({
      address: fixtures.tokens.USDC.address,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [fixtures.accounts[7]!, parseUnits('2.25', 6)],
    })
    await viem.waitForTransactionReceipt({ hash })
    const out = ok(await mcp.call('get_transaction', { chain: 'devnet', hash }))
    expect(out).toMatchObject({ status: 'success', from: sender.address, to: fixtures.tokens.USDC.address })
    expect(out.transfers).toEqual([
      {
        standard: 'erc20',
        token: fixtures.tokens.USDC.address,
        from: sender.address,
        to: fixtures.accounts[7],
        amount: { raw: '2250000', formatted: '2.25' },
        decimals: 6,
      },
    ])
    expect(out.confirmations).toBeGreaterThanOrEqual(1)
    expect(
      err(await mcp.call('get_transaction', { chain: 'devnet', hash: `0x${'12'.repeat(32)}` })).code,
    ).toBe('NOT_FOUND')
  })

  it('returns the latest block and fee estimates', async () => {
    const head = await viem.getBlockNumber({ cacheTime: 0 })
    const block = ok(await mcp.call('get_block', { chain: 'devnet' }))
    expect(BigInt(block.number)).toBeGreaterThanOrEqual(head)
    const byNumber = ok(await mcp.call('get_block', { chain: 'devnet', block: block.number }))
    expect(byNumber.hash).toBe(block.hash)
    const fees = ok(await mcp.call('estimate_fees', { chain: 'devnet' }))
    expect(fees.type).toBe('eip1559')
    expect(BigInt(fees.maxFeePerGas.wei)).toBeGreaterThanOrEqual(BigInt(fees.baseFeePerGas.wei))
  })
})

describe('quote_swap and get_price', () => {
  it('quotes 1 WETH at about 3000 USDC on the devnet pool', async () => {
    const out = ok(
      await mcp.call('quote_swap', {
        chain: 'devnet',
        tokenIn: fixtures.tokens.WETH.address,
        tokenOut: fixtures.tokens.USDC.address,
        amountIn: '1',
      }),
    )
    expect(out.fee).toBe(3000)
    expect(Number(out.amountOut.formatted)).toBeGreaterThan(2900)
    expect(Number(out.amountOut.formatted)).toBeLessThan(3050)
  })

  it('rejects amounts with too many decimals, never rounding (ADVERSARIAL 9)', async () => {
    const out = err(
      await mcp.call('quote_swap', {
        chain: 'devnet',
        tokenIn: fixtures.tokens.USDC.address,
        tokenOut: fixtures.tokens.WETH.address,
        amountIn: '0.0000001',
      }),
    )
    expect(out).toMatchObject({ code: 'INVALID_AMOUNT', field: 'amountIn' })
    expect(
      err(
        await mcp.call('quote_swap', {
          chain: 'devnet',
          tokenIn: fixtures.tokens.USDC.address,
          tokenOut: fixtures.tokens.WETH.address,
          amountIn: 1,
        }),
      ).code,
    ).toBe('INVALID_AMOUNT')
  })

  it('reads the ETH/USD feed at 3000', async () => {
    const out = ok(await mcp.call('get_price', { chain: 'devnet', pair: 'ETH/USD' }))
    expect(out).toMatchObject({ price: '3000', decimals: 8, stale: false })
    expect(out.description.value).toBe('ETH / USD')
  })
})

describe('resources', () => {
  it('publishes the chain registry with endpoint health and the devnet fixtures', async () => {
    const chains = await mcp.client.readResource({ uri: 'airlock://chains' })
    const text = chains.contents[0] && 'text' in chains.contents[0] ? chains.contents[0].text : ''
    const devnet = JSON.parse(text).chains.find((c: { chain: string }) => c.chain === 'devnet')
    expect(devnet.endpoints[0].state).toMatch(/healthy|unknown/)
    const fx = await mcp.client.readResource({ uri: 'airlock://devnet/fixtures' })
    const body = fx.contents[0] && 'text' in fx.contents[0] ? fx.contents[0].text : ''
    expect(JSON.parse(body).tokens.USDC.address).toBe(fixtures.tokens.USDC.address)
  })
})
