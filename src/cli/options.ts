import { parseArgs } from 'node:util'
import { InvalidConfigError, InvalidInputError } from '../errors/index.js'
import { type Config, loadConfig } from '../server/config.js'
import { parseToolsets } from '../tools/toolsets.js'

/** Parsed command line of `airlock start|stdio|devnet|wallet|passport|…`. */
export type CliOptions = {
  command: string
  /** Positionals after the command (`wallet export-address ops` → `['export-address', 'ops']`). */
  args: string[]
  config: Config
  configPath: string | undefined
  devnet: boolean
  host: string
  port: number
  devnetPort: number | undefined
  /** `devnet price|market --rpc-url URL`: the running devnet to move prices on */
  rpcUrl: string | undefined
  /** `devnet market --eth-usd P --btc-usd P`: new USD prices, decimal strings */
  ethUsd: string | undefined
  btcUsd: string | undefined
  stateless: boolean
  json: boolean
  /** `wallet create|import --label L` */
  label: string | undefined
  /** `wallet import --private-key-stdin` */
  privateKeyStdin: boolean
  /** `wallet import --file keystore.json` */
  file: string | undefined
  /** `wallet create|import|list --family evm|solana`: the kind of key (create/import default evm; list: all) */
  family: string | undefined
  /** `kill --reason R`, `deny ID --reason R` */
  reason: string | undefined
  /** `kill|unkill --contract CHAIN:ADDRESS`: one contract on one chain, not the whole gateway */
  contract: string | undefined
  /** `approve ID --hash H`: approve only if the intent still hashes to H */
  hash: string | undefined
  /** `approvals --status S` */
  status: string | undefined
  /** `audit export --out FILE` */
  out: string | undefined
  /** `audit verify --head SEQ:HASH`: a head kept elsewhere, as `audit export` printed it */
  head: string | undefined
  /** `address-book add ADDRESS --label L --note N` */
  note: string | undefined
  /** `wallet guard enable|status|disable --chain C` */
  chain: string | undefined
  /** A running gateway's admin API (`--url`, `--token`), instead of the data directory's announcement */
  url: string | undefined
  token: string | undefined
  /** `kill|unkill --agent DID`; `passport grant|issue --agent DID`: an agent's did:key */
  agent: string | undefined
  /** `passport developer|prove --key FILE`: an Ed25519 private JWK file */
  key: string | undefined
  /** `passport developer|prove --did DID`: the developer's did:key or did:web */
  did: string | undefined
  /** `passport developer --did did:web:… --proof P`: a proof signed elsewhere */
  proof: string | undefined
  /** `passport prove --challenge C --audience A` */
  challenge: string | undefined
  audience: string | undefined
  /** `passport issue --developer DID` */
  developer: string | undefined
  /** `passport grant|issue --code-hash sha256:…` */
  codeHash: string | undefined
  /** `passport grant --tools a,b`: tool names as given (for other commands `--tools` names toolsets) */
  toolNames: string | undefined
  /** `passport grant --chains devnet,eip155:1` */
  chains: string | undefined
  /** `passport grant --payees 0x…,0x…` */
  payees: string | undefined
  /** `passport grant --budget 100 --window 1d --min 0 --max 25 --expires 30d` */
  budget: string | undefined
  window: string | undefined
  min: string | undefined
  max: string | undefined
  expires: string | undefined
  /** `passport grant --user devnet:N` (a devnet test account) or `--user 0x…` (with `--typed-data`) */
  user: string | undefined
  /** `passport grant --user-key-stdin`: the user's private key on stdin */
  userKeyStdin: boolean
  /** `passport grant --typed-data`: print what a wallet signs instead of signing */
  typedData: boolean
  /** `passport grant --typed-data-file F --signature 0x…`: assemble a grant a wallet signed */
  typedDataFile: string | undefined
  signature: string | undefined
  /** `passport issue --grant FILE --days N` */
  grant: string | undefined
  days: string | undefined
}

/**
 * Parses argv + environment into options. With no config file, the embedded devnet runs (demo mode).
 * @throws {InvalidConfigError} unknown flag, bad port, bad config file
 */
export function parseCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliOptions {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    if (argv.some((a) => /^--?private-?key(=|$)/i.test(a)))
      throw new InvalidInputError('Private keys are never taken as command-line arguments.', {
        metaMessages: [
          'Arguments end up in shell history and the process list. Pipe the key on stdin instead:',
          '  airlock wallet import --private-key-stdin < key.txt   (or --file keystore.json)',
          '  airlock passport grant … --user-key-stdin --out grant.json < key.txt',
        ],
      })
    throw new InvalidConfigError(`${(error as Error).message}.`, {
      metaMessages: ['Run `airlock help` for usage.'],
    })
  }
  const { values, positionals } = parsed
  const command = positionals[0] ?? 'help'
  const configPath = values.config ?? env.AIRLOCK_CONFIG
  const loaded = configPath ? loadConfig(configPath) : {}
  // `--tools` overrides the config's `tools`: the gateway reads its toolsets from the config alone. For
  // `passport grant` it lists the tools a user grants an agent instead.
  const config =
    values.tools === undefined || command === 'passport'
      ? loaded
      : { ...loaded, tools: parseToolsets(values.tools) }
  const devnet = Boolean(values.devnet) || !configPath || Boolean(config.devnet)
  return {
    command,
    args: positionals.slice(1),
    config,
    configPath,
    devnet,
    host: values.host ?? config.server?.host ?? '127.0.0.1',
    port: port(values.port ?? env.AIRLOCK_PORT, config.server?.port ?? 8402, '--port / AIRLOCK_PORT'),
    devnetPort: port(
      values['devnet-port'],
      typeof config.devnet === 'object' ? (config.devnet.port ?? 0) : 0,
      '--devnet-port',
    ),
    rpcUrl: values['rpc-url'],
    ethUsd: values['eth-usd'],
    btcUsd: values['btc-usd'],
    stateless: Boolean(values.stateless) || Boolean(config.server?.stateless),
    json: Boolean(values.json),
    label: values.label,
    privateKeyStdin: Boolean(values['private-key-stdin']),
    file: values.file,
    family: values.family,
    reason: values.reason,
    contract: values.contract,
    hash: values.hash,
    status: values.status,
    out: values.out,
    head: values.head,
    note: values.note,
    chain: values.chain,
    url: values.url,
    token: values.token,
    agent: values.agent,
    key: values.key,
    did: values.did,
    proof: values.proof,
    challenge: values.challenge,
    audience: values.audience,
    developer: values.developer,
    codeHash: values['code-hash'],
    toolNames: command === 'passport' ? values.tools : undefined,
    chains: values.chains,
    payees: values.payees,
    budget: values.budget,
    window: values.window,
    min: values.min,
    max: values.max,
    expires: values.expires,
    user: values.user,
    userKeyStdin: Boolean(values['user-key-stdin']),
    typedData: Boolean(values['typed-data']),
    typedDataFile: values['typed-data-file'],
    signature: values.signature,
    grant: values.grant,
    days: values.days,
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      devnet: { type: 'boolean' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      'devnet-port': { type: 'string' },
      'rpc-url': { type: 'string' },
      'eth-usd': { type: 'string' },
      'btc-usd': { type: 'string' },
      stateless: { type: 'boolean' },
      tools: { type: 'string' },
      json: { type: 'boolean' },
      label: { type: 'string' },
      'private-key-stdin': { type: 'boolean' },
      file: { type: 'string' },
      family: { type: 'string' },
      reason: { type: 'string' },
      contract: { type: 'string' },
      hash: { type: 'string' },
      status: { type: 'string' },
      out: { type: 'string' },
      head: { type: 'string' },
      note: { type: 'string' },
      chain: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      agent: { type: 'string' },
      key: { type: 'string' },
      did: { type: 'string' },
      proof: { type: 'string' },
      challenge: { type: 'string' },
      audience: { type: 'string' },
      developer: { type: 'string' },
      'code-hash': { type: 'string' },
      chains: { type: 'string' },
      payees: { type: 'string' },
      budget: { type: 'string' },
      window: { type: 'string' },
      min: { type: 'string' },
      max: { type: 'string' },
      expires: { type: 'string' },
      user: { type: 'string' },
      'user-key-stdin': { type: 'boolean' },
      'typed-data': { type: 'boolean' },
      'typed-data-file': { type: 'string' },
      signature: { type: 'string' },
      grant: { type: 'string' },
      days: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
    throw new InvalidConfigError(`${name} must be a port number 0–65535, got "${value.slice(0, 20)}".`)
  return Number(value)
}

/** `airlock help` text. */
export const usage = `airlock — MCP gateway for safe blockchain access by AI agents

Usage:
  airlock start  [--config FILE] [--devnet] [--host H] [--port P] [--stateless] [--tools LIST]
                 MCP over Streamable HTTP at http://127.0.0.1:8402/mcp
  airlock stdio  [--config FILE] [--devnet] [--tools LIST]
                 MCP over stdio (stdout carries only protocol)
  airlock devnet [--json] [--devnet-port P]     the embedded devnet alone, fixtures printed
  airlock devnet price FEED|POOL PRICE [--rpc-url URL] [--json]
                                                 move one price on a running devnet: a feed (ETH/USD, BTC/USD,
                                                 in USD) or a pool (USDC/WETH: USDC per WETH, USDC/WBTC: USDC
                                                 per WBTC, WETH/WBTC: WBTC per WETH), e.g. price ETH/USD 3018
  airlock devnet market [--eth-usd P] [--btc-usd P] [--rpc-url URL] [--json]
                                                 set the feeds and move all three pools to match them
                                                 (URL: the devnet's RPC URL, as \`npm start\` or \`airlock devnet\`
                                                 printed it; default the config's devnet.fixtures, or
                                                 http://127.0.0.1:P with --devnet-port P)
  airlock wallet create [--family evm|solana] [--label L] [--json]
                                                 new key, encrypted at rest (Web3 Secret Storage v3);
                                                 --family solana: an ed25519 key (default evm)
  airlock wallet import (--private-key-stdin | --file KEYSTORE.json) [--label L] [--json]
                                                 keys come on stdin or in a file, never as an argument
  airlock wallet import --family solana (--private-key-stdin | --file id.json) [--label L] [--json]
                                                 base58 keypair or seed (Phantom, solana-keygen) on stdin,
                                                 or solana-keygen's JSON array file
  airlock wallet list [--family evm|solana] [--json]   addresses, families and labels of the stored wallets
  airlock wallet export-address ADDRESS|LABEL   prints the wallet's address
  airlock wallet guard status|enable|disable --chain C [--json]
                                                 the wallet's EIP-7702 delegation to Airlock's post-condition
                                                 guard on one chain: show it, deploy + delegate, undelegate

  airlock policy check [FILE] [--json]          validate a policy (default: the config's) and print its hash

Operator (they reach a running gateway through its data directory, or --url/--token; else the store directly):
  airlock status [--json]                       kill switch, stopped contracts, pending approvals, policy
  airlock approvals [--status pending|approved|denied|expired] [--json]   held intents, with the simulation
  airlock approve INTENT_ID [--hash H]          approve a held intent (re-simulated before it is signed)
  airlock deny INTENT_ID [--reason R]           refuse it
  airlock kill [--reason R]                     stop every write at once (persists across restarts)
  airlock unkill                                writes go through the policy again
  airlock kill --contract CHAIN:ADDRESS [--reason R]   stop writes that touch one contract on one chain
  airlock unkill --contract CHAIN:ADDRESS       release it (CHAIN: id, eip155:ID or a name, e.g. 8453:0x…)
  airlock kill --agent DID [--reason R]         stop one agent's writes (other callers go on)
  airlock unkill --agent DID                    release it
  airlock audit verify [--head SEQ:HASH]        prove the hash chain intact (and still holding a head kept
                                                 elsewhere), or name the first broken entry
  airlock audit export [--out FILE]             the audit log as JSON lines; the head (SEQ:HASH) on stderr
  airlock address-book [list | add ADDRESS --label L [--note N] | remove ADDRESS]
  airlock payments report [--days N] [--json]   x402 revenue per tool, payee, agent and day; what agents spent
  airlock payments payout [--json]              pay accrued revenue shares now (guarded transfers)
  airlock orders [list] [--status S] [--json]   standing orders (active, paused, cancelled, expired)
  airlock orders show ORDER_ID [--json]         one order: trigger, guards, budget, evaluations, fires
  airlock orders pause|resume|cancel ORDER_ID [--reason R]   the operator's levers (kill stops them all)

Agent passports (see the README; the developer and user steps need no gateway, the operator steps reach it as above):
  airlock passport key --out FILE               new Ed25519 key (private JWK, mode 0600); prints its did:key
  airlock passport developer --key FILE [--did DID] [--label L]
                                                 register a developer: asks a challenge, signs it with FILE
  airlock passport developer --did did:web:… --proof P [--label L]   register with a proof signed elsewhere
  airlock passport challenge DID                a challenge (and its audience) for a developer to sign
  airlock passport prove --key FILE [--did DID] --challenge C --audience A   the developer's proof (offline)
  airlock passport hash PATH                    the agent code's hash (sha256:…) of a file or directory
  airlock passport grant --agent DID --code-hash H --tools a,b --chains devnet,base [--payees 0x…,0x…]
                 --budget USD [--window 1d] [--min 0] [--max USD] [--expires 30d]
                 (--user devnet:N | --user-key-stdin) --out FILE
                                                 the user's EIP-712 grant, signed (devnet:N: the devnet's test
                                                 account N; stdin: a 0x private key, never an argument)
  airlock passport grant … --user 0xADDRESS --typed-data [--out FILE]
                                                 the eth_signTypedData_v4 JSON for a wallet, unsigned
  airlock passport grant --typed-data-file F --signature 0x… --out FILE   assemble what the wallet signed
  airlock passport issue --agent DID --developer DID --code-hash H --grant FILE [--days N] --out FILE
                                                 issue the passport (vc+jwt, written mode 0600)
  airlock passport list | status AGENT          passports and their status
  airlock passport revoke|suspend|reinstate AGENT [--reason R]   revoke (final), suspend, reinstate

Without a config file (--config / AIRLOCK_CONFIG) Airlock runs on the embedded devnet (demo mode).
--tools read,write serves only those toolsets (read, write, payments, orders, solana; default all).
Environment: AIRLOCK_CONFIG, AIRLOCK_PORT, AIRLOCK_RPC_<CHAIN>=url1,url2 (e.g. AIRLOCK_RPC_BASE).
Wallets: keystores in $AIRLOCK_DATA_DIR/keystore (default ~/.airlock/keystore). The password comes from
AIRLOCK_WALLET_PASSWORD, else a hidden prompt on the terminal; AIRLOCK_IMPORT_PASSWORD opens an imported file.
`
