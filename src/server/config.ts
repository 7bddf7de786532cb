import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { InvalidConfigError } from '../errors/index.js'
import { Toolsets } from '../tools/toolsets.js'

const Port = z.number().int().min(0).max(65535)
const RpcUrl = z
  .string()
  .max(2048)
  .refine((u) => URL.canParse(u) && /^(https?|wss?):$/.test(new URL(u).protocol), 'must be an http(s) URL')

/** The config file (JSON). Every field is optional; unknown fields are errors. */
const EvmAddressText = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed address (40 hex digits)')
const DecimalText = z
  .string()
  .max(40)
  .regex(/^\d+(\.\d+)?$/, 'a decimal string in display units, like "0.01"')

/** One price: a tool, or a pack of tools sharing a price and its payees (DESIGN §9). */
export const ToolPrice = z
  .object({
    tools: z.array(z.string().min(1).max(64)).min(1).max(100).describe('The tools this price applies to.'),
    amount: DecimalText.refine((a) => /[1-9]/.test(a), 'a price above zero').describe(
      'Per call, in display units of the asset ("0.01" USDC).',
    ),
    asset: z
      .string()
      .min(1)
      .max(64)
      .describe('A token known on the network ("USDC" on the devnet) or its address; EIP-3009 tokens only.'),
    network: z.string().min(1).max(64).describe('A chain name, id or CAIP-2 id (EVM).'),
    eip712: z
      .object({ name: z.string().min(1).max(128), version: z.string().min(1).max(32) })
      .strict()
      .optional()
      .describe(
        "The token's EIP-712 domain name and version, when the token does not publish it (EIP-5267).",
      ),
    payees: z
      .array(
        z
          .object({
            address: EvmAddressText,
            share: z.number().positive().max(100).describe('Percent of each charge.'),
            label: z.string().max(64).optional(),
          })
          .strict(),
      )
      .max(16)
      .optional()
      .describe('Revenue shares (percent, summing to 100); default: all to the gateway wallet.'),
    description: z.string().max(200).optional(),
  })
  .strict()
  .refine(
    (p) => !p.payees || Math.abs(p.payees.reduce((s, x) => s + x.share, 0) - 100) < 1e-9,
    'payees[].share must add up to 100',
  )
  .refine(
    (p) => !p.payees || new Set(p.payees.map((x) => x.address.toLowerCase())).size === p.payees.length,
    'a payee is listed twice: give each address once, with its whole share',
  )

const Payments = z
  .object({
    facilitator: z
      .union([
        z.literal('devnet'),
        z
          .object({
            url: z
              .string()
              .refine(
                (u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol),
                'must be an http(s) URL',
              ),
            timeoutMs: z.number().int().min(100).max(120_000).optional(),
          })
          .strict(),
      ])
      .optional()
      .describe('"devnet" (the gateway runs one on the embedded devnet) or { url } of an x402 facilitator.'),
    payTo: EvmAddressText.optional().describe('Where charges are paid (default: the gateway wallet).'),
    prices: z.array(ToolPrice).max(200).optional(),
    payoutIntervalSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .optional()
      .describe(
        'Pay accrued revenue shares out every so often (default: only by `airlock payments payout`).',
      ),
  })
  .strict()

export const Config = z
  .object({
    devnet: z
      .union([
        z.boolean(),
        z
          .object({
            port: Port.optional(),
            chainId: z.number().int().positive().optional(),
            fixtures: z
              .string()
              .min(1)
              .optional()
              .describe(
                'Attach to a devnet already running (`airlock devnet --json > FILE`) instead of starting one.',
              ),
          })
          .strict(),
      ])
      .optional()
      .describe('Run the embedded devnet (true, or its options), or attach to a running one via `fixtures`.'),
    server: z
      .object({
        host: z.string().min(1).optional(),
        port: Port.optional(),
        allowedHosts: z
          .array(z.string().min(1))
          .optional()
          .describe('Extra Host header values accepted (DNS-rebinding guard).'),
        allowedOrigins: z.array(z.string().min(1)).optional().describe('Browser Origins accepted.'),
        stateless: z
          .boolean()
          .optional()
          .describe('Accepted for compatibility; every request already stands alone (no MCP sessions).'),
      })
      .strict()
      .optional(),
    rpc: z
      .object({
        timeoutMs: z.number().int().min(50).max(120_000).optional(),
        hedgeDelayMs: z.number().int().min(0).max(60_000).optional(),
        publicFallback: z
          .boolean()
          .optional()
          .describe('Use viem’s public endpoint for chains with none configured (default true).'),
      })
      .strict()
      .optional(),
    chains: z
      .record(
        z.string(),
        z
          .object({
            rpc: z.array(RpcUrl).min(1).max(16).optional(),
            timeoutMs: z.number().int().min(50).max(120_000).optional(),
            hedgeDelayMs: z.number().int().min(0).max(60_000).optional(),
            maxFeePerGasGwei: z
              .number()
              .positive()
              .max(1_000_000)
              .optional()
              .describe('Refuse writes above this fee.'),
            maxPriorityFeePerGasGwei: z.number().positive().max(1_000_000).optional(),
          })
          .strict(),
      )
      .optional(),
    wallet: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'Address or label of the keystore wallet that signs (password from AIRLOCK_WALLET_PASSWORD).',
      ),
    solanaWallet: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'Address or label of the Solana keystore wallet (ed25519) that signs on Solana clusters; same password.',
      ),
    dataDir: z
      .string()
      .min(1)
      .optional()
      .describe('Where keystores and the embedded database live (default ~/.airlock).'),
    ipfsGateway: z
      .string()
      .refine((u) => URL.canParse(u) && new URL(u).protocol === 'https:', 'must be an https URL')
      .optional(),
    policy: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())])
      .optional()
      .describe(
        'The spend policy: an inline object, or a path to its own JSON file (relative to this file), reloaded on change. Validated when loaded.',
      ),
    approvals: z
      .object({
        ttlSeconds: z
          .number()
          .int()
          .min(30)
          .max(7 * 24 * 3600)
          .optional()
          .describe('How long a held intent waits for a human before it expires (default 3600).'),
        elicit: z
          .boolean()
          .optional()
          .describe(
            'Put held writes to the user through MCP elicitation when the client supports it (default false: enable only for clients whose prompts a person, not the agent, answers).',
          ),
      })
      .strict()
      .optional(),
    killSwitch: z
      .object({
        maxDenials: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .optional()
          .describe(
            'Engage the kill switch after this many policy denials within `denialWindowSeconds` (default 20).',
          ),
        denialWindowSeconds: z.number().int().min(1).max(86_400).optional(),
      })
      .strict()
      .optional(),
    admin: z
      .object({
        host: z.string().min(1).optional(),
        port: Port.optional().describe(
          'Admin API port (default: a free port, written to <dataDir>/admin.json).',
        ),
        enabled: z.boolean().optional(),
      })
      .strict()
      .optional()
      .describe('The operator API (approvals, kill switch, audit, address book), with its own token.'),
    tools: Toolsets.optional(),
    payments: Payments.optional().describe(
      'x402: prices of tools (charged per call, shares paid out to payees) and the facilitator that verifies and settles payments.',
    ),
    orders: z
      .object({
        evaluateIntervalMs: z
          .number()
          .int()
          .min(100)
          .max(3_600_000)
          .optional()
          .describe('How often standing orders are evaluated at the latest block (default 2000).'),
        enabled: z.boolean().optional().describe('Run the firing service on this replica (default true).'),
      })
      .strict()
      .optional()
      .describe('Standing orders: the firing service (one replica at a time holds its lease).'),
    auth: z
      .union([
        z.enum(['none', 'passport']),
        z
          .object({
            mode: z.enum(['none', 'passport']).optional(),
            publicUrl: z
              .string()
              .refine(
                (u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol),
                'must be an http(s) URL',
              )
              .optional()
              .describe(
                'The gateway’s public base URL (token audience, status lists); default: the address it listens on.',
              ),
            statusCacheSeconds: z
              .number()
              .int()
              .min(0)
              .max(60)
              .optional()
              .describe(
                'How long a replica trusts a passport status it read (default 60; 0 = every request).',
              ),
            tokenLifetimeSeconds: z.number().int().min(30).max(3600).optional(),
            stdioPassport: z
              .string()
              .min(1)
              .optional()
              .describe(
                'A passport file (relative to this file): `airlock stdio` then acts as that agent instead of the local operator.',
              ),
          })
          .strict(),
      ])
      .optional()
      .describe(
        'HTTP authentication: "none" (loopback only; agents may still present passports) or "passport" (every HTTP request needs a token and a signature).',
      ),
  })
  .strict()

/** A validated config. */
export type Config = z.infer<typeof Config>

/** The `auth` section with its defaults. */
export type AuthSettings = {
  mode: 'none' | 'passport'
  publicUrl?: string | undefined
  statusCacheSeconds: number
  tokenLifetimeSeconds: number
  /** A passport file: stdio acts as that agent. */
  stdioPassport?: string | undefined
}

/**
 * The `auth` section with its defaults (`none`, 60 s status cache, 300 s tokens).
 *
 * @example authSettings(parseConfig({ auth: 'passport' })).mode // 'passport'
 */
export function authSettings(config: Config): AuthSettings {
  const a = typeof config.auth === 'string' ? { mode: config.auth } : (config.auth ?? {})
  return {
    mode: a.mode ?? 'none',
    ...('publicUrl' in a && a.publicUrl ? { publicUrl: a.publicUrl.replace(/\/+$/, '') } : {}),
    statusCacheSeconds: ('statusCacheSeconds' in a ? a.statusCacheSeconds : undefined) ?? 60,
    tokenLifetimeSeconds: ('tokenLifetimeSeconds' in a ? a.tokenLifetimeSeconds : undefined) ?? 300,
    ...('stdioPassport' in a && a.stdioPassport ? { stdioPassport: a.stdioPassport } : {}),
  }
}

/**
 * Validates a config object; the error names the first bad field and says what is expected.
 * @example parseConfig({ chains: { base: { rpc: ['https://…'] } } })
 * @throws {InvalidConfigError}
 */
export function parseConfig(value: unknown, source = 'config'): Config {
  const result = Config.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const field = issue.path.map(String).join('.')
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.map((k) => `"${k.slice(0, 40)}"`).join(', ')}`
      : issue.message
  throw new InvalidConfigError(`Invalid ${source}: field "${field || '(root)'}" — ${message}.`, {
    field,
    metaMessages: ['See the Configuration section of the README for the accepted fields.'],
  })
}

/**
 * Reads and validates a JSON config file.
 * @throws {InvalidConfigError} missing file, bad JSON or a bad field
 */
export function loadConfig(path: string): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new InvalidConfigError(
      `Cannot read the config file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      {
        metaMessages: ['Check the path given with --config or AIRLOCK_CONFIG.'],
      },
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new InvalidConfigError(`The config file ${path} is not valid JSON: ${(error as Error).message}.`)
  }
  return parseConfig(json, `config file ${path}`)
}
