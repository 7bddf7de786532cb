import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import { InvalidConfigError } from '../errors/index.js'
import { startHttpServer } from '../server/http.js'
import { boot, onShutdown } from './boot.js'
import { cliCommand } from './cliCommand.js'
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
    'Airlock is running.',
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
      `  wallet    ${f.accounts[0]} (account 0: the gateway signs with it)`,
      `  alice.eth ${f.ens['alice.eth']} (account 1, in the demo address book)`,
      `  bob.eth   ${f.ens['bob.eth']} (account 2, in the demo address book)`,
      `  account 5 ${f.accounts[5]} (not in the address book)`,
      `  USDC      ${f.tokens.USDC.address}`,
      `  WETH      ${f.tokens.WETH.address}`,
      `  DAI       ${f.tokens.DAI.address}`,
      `  WBTC      ${f.tokens.WBTC.address} (the wallet holds 1 WETH and 0.05 WBTC)`,
      `  NFT       ${f.nft.address} (ids ${f.nft.tokenIds.join(', ')})`,
      `  Uniswap   router ${f.uniswapV3.router}, USDC/WETH pool ${f.uniswapV3.pools['USDC/WETH']}`,
      `  ETH/USD   feed ${f.feeds['ETH/USD'].address}, BTC/USD feed ${f.feeds['BTC/USD'].address}`,
    )
    const sol = booted.gateway.solanaDevnet
    if (sol)
      out.push(
        '',
        'Solana devnet fixtures (under `solana` in airlock://devnet/fixtures):',
        `  chain     ${sol.chain} (${sol.caip2}) at ${sol.rpcUrl}`,
        `  wallet    ${sol.accounts[0]!.address} (account 0: the gateway signs with it)`,
        `  sol-alice ${sol.accounts[1]!.address} (account 1, in the demo address book)`,
        `  USDC      ${sol.tokens.USDC.mint} (SPL, 6 decimals)`,
        `  FEE       ${sol.tokens.FEE.mint} (Token-2022, 1 % transfer fee)`,
        `  PDEL      ${sol.tokens.PDEL.mint} (Token-2022, permanent delegate)`,
      )
    out.push(
      '',
      ...tryIt(f, options.config.policy === undefined, cliCommand(options.configPath, env)),
      ...(sol && options.config.policy === undefined ? tryItSolana(sol) : []),
    )
  }
  out.push('', 'Press Ctrl+C to stop.', '')
  process.stdout.write(out.join('\n'))
  return new Promise<number>(() => {}) // serve until a signal
}

/** The Solana devnet's "try it" lines: the same tools and policy, on `solana-local`. */
function tryItSolana(sol: SolanaDevnetFixtures): string[] {
  const call = (tool: string, args: Record<string, unknown>, what: string) =>
    `  ${tool} ${JSON.stringify(args)}\n      ${what}`
  const alice = sol.accounts[1]!.address
  return [
    call(
      'transfer',
      { chain: 'solana-local', to: alice, amount: '25', token: sol.tokens.USDC.mint },
      'Solana, same tools and policy: goes through (rule usdc-to-known-solana)',
    ),
    call(
      'transfer',
      { chain: 'solana-local', to: alice, amount: '10', token: sol.tokens.PDEL.mint },
      'denied: a Token-2022 mint with a permanent delegate (rule deny-risky-solana-mints)',
    ),
  ]
}

/**
 * The banner's "try it" lines: tool calls to paste into an MCP client (tool name, then its arguments as JSON), every
 * address filled in, and the operator command that decides a held one, runnable as printed.
 */
function tryIt(f: DevnetFixtures, demoPolicy: boolean, cli: string): string[] {
  const call = (tool: string, args: Record<string, unknown>, what: string) =>
    `  ${tool} ${JSON.stringify(args)}\n      ${what}`
  const usdc = f.tokens.USDC.address
  const lines = [
    'Try it (paste into your MCP client: the tool, then its arguments):',
    call('get_token_balances', { chain: 'devnet', address: f.accounts[0] }, "the gateway wallet's balances"),
  ]
  if (!demoPolicy) return lines
  lines.push(
    call(
      'transfer',
      { chain: 'devnet', to: 'alice.eth', amount: '100', token: usdc },
      'goes through: rule usdc-to-known (address-book recipient, up to 1000 USDC each, 2500 a day)',
    ),
    call(
      'transfer',
      { chain: 'devnet', to: 'alice.eth', amount: '5000', token: usdc },
      'denied: the error names the rule, its cap and what is left',
    ),
    call('get_limits', { chain: 'devnet' }, 'your budgets and per-transfer caps'),
    call(
      'transfer',
      { chain: 'devnet', to: f.accounts[5], amount: '0.1' },
      `held for a human (account 5 is not in the address book); decide it from another terminal${cli.startsWith('npx') ? ' in this checkout' : ''}:`,
    ),
    `      ${cli} approvals`,
    `      ${cli} approve <intentId>`,
    call(
      'quote_swap',
      { chain: 'devnet', tokenIn: f.tokens.WETH.address, tokenOut: usdc, amountIn: '1' },
      'priced with x402 (0.01 USDC): the answer is the payment requirement; an x402 MCP client pays and retries (see the README, "Paid tools")',
    ),
    `      ${cli} payments report   ·   ${cli} payments payout`,
    call(
      'create_standing_order',
      {
        chain: 'devnet',
        trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' },
        action: {
          kind: 'rebalance',
          weights: [
            { token: 'WETH', percent: '50' },
            { token: 'WBTC', percent: '50' },
          ],
        },
        budgetUsd: '500',
      },
      'a standing order (rule standing-orders-small); then move ETH 0.6 % and watch it rebalance, once:',
    ),
    `      ${cli} devnet market --eth-usd 3018 --rpc-url ${f.rpcUrl}   ·   ${cli} orders list`,
  )
  return lines
}
