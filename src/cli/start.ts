import { InvalidConfigError } from '../errors/index.js'
import { startHttpServer } from '../server/http.js'
import { boot, onShutdown } from './boot.js'
import type { CliOptions } from './options.js'

const log = (line: string) => process.stderr.write(`${line}\n`)

/**
 * `airlock start`: the gateway over Streamable HTTP. Prints the MCP URL, a client config and, in devnet mode,
 * the fixtures.
 */
export async function start(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  if (options.devnet && !options.configPath)
    log('No config file: starting in demo mode on the embedded devnet.')
  const booted = await boot(options, env, log)
  const http = await startHttpServer({
    gateway: booted.gateway,
    host: options.host,
    port: options.port,
    allowedHosts: options.config.server?.allowedHosts,
    allowedOrigins: options.config.server?.allowedOrigins,
    stateless: options.stateless,
  }).catch(async (error: NodeJS.ErrnoException) => {
    await booted.stop()
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL')
      throw new InvalidConfigError(
        `Cannot listen on ${options.host}:${options.port} (${error.code === 'EADDRINUSE' ? 'the port is already in use' : error.code}).`,
        { metaMessages: ['Stop the other process, or choose another port with --port or AIRLOCK_PORT.'] },
      )
    throw error
  })
  onShutdown(async () => {
    await http.close()
    await booted.stop()
  })
  const out: string[] = [
    '',
    `Airlock is running${options.stateless ? ' (stateless)' : ''}.`,
    `  MCP endpoint (Streamable HTTP): ${http.url}`,
    '',
    'MCP client config (paste into your client):',
    JSON.stringify({ mcpServers: { airlock: { type: 'http', url: http.url } } }, null, 2),
  ]
  if (booted.fixtures) {
    const f = booted.fixtures
    out.push(
      '',
      'Demo devnet fixtures (also at airlock://devnet/fixtures):',
      `  chain     ${f.chain} (chain id ${f.chainId}) at ${f.rpcUrl}`,
      `  accounts  ${f.accounts.slice(0, 3).join(', ')} …`,
      `  USDC      ${f.tokens.USDC.address}`,
      `  WETH      ${f.tokens.WETH.address}`,
      `  DAI       ${f.tokens.DAI.address}`,
      `  NFT       ${f.nft.address} (ids ${f.nft.tokenIds.join(', ')})`,
      `  ENS       alice.eth → ${f.ens['alice.eth']}, bob.eth → ${f.ens['bob.eth']}`,
      `  Uniswap   USDC/WETH pool ${f.uniswapV3.pools['USDC/WETH']}`,
      `  ETH/USD   feed ${f.feeds['ETH/USD'].address}`,
      '',
      `Try: get_token_balances { "chain": "devnet", "address": "${f.accounts[0]}" }`,
    )
  }
  out.push('', 'Press Ctrl+C to stop.', '')
  process.stdout.write(out.join('\n'))
  return new Promise<number>(() => {}) // serve until a signal
}
