import { afterEach, describe, expect, it, vi } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import { readFeedPrice, readPoolPrice } from '../devnet/market.js'
import { devnet } from './devnet.js'
import { parseCli } from './options.js'

const fx = useDevnet({ isolate: true })

/** Runs `airlock devnet …` in process and returns what it printed. */
async function run(...argv: string[]): Promise<string> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  try {
    expect(await devnet(parseCli(['devnet', ...argv], {}))).toBe(0)
    return write.mock.calls.map(([chunk]) => String(chunk)).join('')
  } finally {
    write.mockRestore()
  }
}
afterEach(() => vi.restoreAllMocks())

describe('airlock devnet price|market', () => {
  it('moves one feed and prints what moved', async () => {
    const out = await run('price', 'ETH/USD', '3018.5', '--rpc-url', fx.rpcUrl)
    expect(out).toMatch(/^ETH\/USD\s+feed\s+3000 → 3018\.5 USD\n$/)
    expect(await readFeedPrice(fx, 'ETH/USD')).toBe('3018.5')
  })

  it('moves one pool (quote per base), with --json for scripts', async () => {
    const out = await run('price', 'weth/wbtc', '0.0503', '--rpc-url', fx.rpcUrl, '--json')
    expect(JSON.parse(out)).toMatchObject({ pool: 'WETH/WBTC', previous: '0.05', price: '0.0503' })
    expect(await readPoolPrice(fx, 'WETH/WBTC')).toBe('0.0503')
  })

  it('sets the market: feeds and all three pools agree', async () => {
    const out = await run('market', '--eth-usd', '3000', '--btc-usd', '61000', '--rpc-url', fx.rpcUrl)
    expect(out).toContain('BTC/USD   feed  60000 → 61000 USD')
    expect(out).toContain('USDC/WETH pool  3000 → 3000 USDC per WETH')
    expect(out).toContain('USDC/WBTC pool  60000 → 61000 USDC per WBTC')
    expect(out).toMatch(/WETH\/WBTC pool {2}0\.0503 → 0\.04918033 WBTC per WETH/)
    expect(await readPoolPrice(fx, 'USDC/WBTC')).toBe('61000')
  })

  it('finds the devnet from --devnet-port', async () => {
    const port = new URL(fx.rpcUrl).port
    const out = await run('price', 'BTC/USD', '60000', '--devnet-port', port)
    expect(out).toContain('BTC/USD   feed  61000 → 60000 USD')
  })

  it('says what is wrong: no devnet named, an unknown name, a node without the fixtures', async () => {
    await expect(run('price', 'ETH/USD', '3018')).rejects.toThrow(/--rpc-url/)
    await expect(run('price', 'DOGE/USD', '1', '--rpc-url', fx.rpcUrl)).rejects.toThrow(
      /No devnet feed or pool/,
    )
    await expect(run('price', 'ETH/USD', '--rpc-url', fx.rpcUrl)).rejects.toThrow(/Usage/)
    await expect(run('market', '--rpc-url', fx.rpcUrl)).rejects.toThrow(/at least one price/)
    await expect(run('prices')).rejects.toThrow(/Unknown devnet command/)
    await expect(run('price', 'ETH/USD', '1', '--rpc-url', 'http://127.0.0.1:9')).rejects.toThrow(
      /did not answer/,
    )
  })
})
