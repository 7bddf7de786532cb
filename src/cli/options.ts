import { parseArgs } from 'node:util'
import { InvalidConfigError, InvalidInputError } from '../errors/index.js'
import { type Config, loadConfig } from '../server/config.js'
import { parseToolsets } from '../tools/toolsets.js'

/** Parsed command line of `airlock start|stdio|devnet|wallet`. */
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
  stateless: boolean
  json: boolean
  /** `wallet create|import --label L` */
  label: string | undefined
  /** `wallet import --private-key-stdin` */
  privateKeyStdin: boolean
  /** `wallet import --file keystore.json` */
  file: string | undefined
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
  // `--tools` overrides the config's `tools`: the gateway reads its toolsets from the config alone.
  const config = values.tools === undefined ? loaded : { ...loaded, tools: parseToolsets(values.tools) }
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
    stateless: Boolean(values.stateless) || Boolean(config.server?.stateless),
    json: Boolean(values.json),
    label: values.label,
    privateKeyStdin: Boolean(values['private-key-stdin']),
    file: values.file,
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
      stateless: { type: 'boolean' },
      tools: { type: 'string' },
      json: { type: 'boolean' },
      label: { type: 'string' },
      'private-key-stdin': { type: 'boolean' },
      file: { type: 'string' },
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
  airlock wallet create [--label L] [--json]    new key, encrypted at rest (Web3 Secret Storage v3)
  airlock wallet import (--private-key-stdin | --file KEYSTORE.json) [--label L] [--json]
                                                 keys come on stdin or in a file, never as an argument
  airlock wallet list [--json]                  addresses and labels of the stored wallets
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
  airlock audit verify [--head SEQ:HASH]        prove the hash chain intact (and still holding a head kept
                                                 elsewhere), or name the first broken entry
  airlock audit export [--out FILE]             the audit log as JSON lines; the head (SEQ:HASH) on stderr
  airlock address-book [list | add ADDRESS --label L [--note N] | remove ADDRESS]

Without a config file (--config / AIRLOCK_CONFIG) Airlock runs on the embedded devnet (demo mode).
--tools read,write serves only those toolsets (read, write, payments, orders, solana; default all).
Environment: AIRLOCK_CONFIG, AIRLOCK_PORT, AIRLOCK_RPC_<CHAIN>=url1,url2 (e.g. AIRLOCK_RPC_BASE).
Wallets: keystores in $AIRLOCK_DATA_DIR/keystore (default ~/.airlock/keystore). The password comes from
AIRLOCK_WALLET_PASSWORD, else a hidden prompt on the terminal; AIRLOCK_IMPORT_PASSWORD opens an imported file.
`
