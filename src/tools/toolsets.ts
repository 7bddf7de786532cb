import { z } from 'zod'
import { InvalidConfigError } from '../errors/index.js'

/**
 * The toolsets an operator can serve (config `tools`, `--tools`). `payments` holds `fetch_with_payment`; `orders`
 * the standing-order tools; `solana` is accepted today and holds no tools yet (Solana itself is served by the same
 * read and write tools).
 */
export const toolsetNames = ['read', 'write', 'payments', 'orders', 'solana'] as const

/** A toolset's name. */
export type ToolsetName = (typeof toolsetNames)[number]

/**
 * Which tools each toolset serves, by wire name. Names, not tool modules, so the config schema can use this file
 * without loading every tool; `src/tools/index.ts` holds the definitions and their `tools/list` order.
 */
export const toolsets: Readonly<Record<ToolsetName, readonly string[]>> = {
  read: [
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
    'whoami',
  ],
  write: [
    'transfer',
    'approve',
    'write_contract',
    'swap',
    'sign_typed_data',
    'simulate',
    'get_limits',
    'get_intent',
    'list_intents',
    'cancel_intent',
    'speed_up_intent',
  ],
  payments: ['fetch_with_payment'],
  orders: ['create_standing_order', 'list_standing_orders', 'get_standing_order', 'cancel_standing_order'],
  solana: [],
}

const accepted = `accepted: ${toolsetNames.join(', ')}`

/** A list of toolset names, as the config file's `tools` key takes it. */
export const Toolsets = z
  .array(
    z.enum(toolsetNames, {
      error: (issue) => `unknown toolset "${String(issue.input).slice(0, 40)}" (${accepted})`,
    }),
  )
  .min(1, `name at least one toolset (${accepted})`)
  .describe(`Toolsets to serve (default: all): ${toolsetNames.join(', ')}.`)

/**
 * Parses `--tools read,write` into toolset names.
 *
 * @example parseToolsets('read, write') // ['read', 'write']
 * @throws {InvalidConfigError} an unknown or missing name, naming the accepted ones
 */
export function parseToolsets(list: string, source = '--tools'): ToolsetName[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
  const parsed = Toolsets.safeParse(names)
  if (parsed.success) return parsed.data
  throw new InvalidConfigError(`${source}: ${parsed.error.issues[0]?.message ?? accepted}.`, {
    metaMessages: [`Example: ${source} read,write`],
  })
}

/**
 * The tools the named toolsets serve, in the order of `tools` (every toolset when `names` is undefined).
 *
 * @example selectTools(allTools, ['read']).map((t) => t.name) // ['list_chains', 'get_balance', …]
 * @throws {InvalidConfigError} the toolsets serve no tool (only ones that are still empty)
 */
export function selectTools<T extends { name: string }>(
  tools: readonly T[],
  names: readonly ToolsetName[] | undefined,
): readonly T[] {
  if (names === undefined) return tools
  const served = new Set(names.flatMap((n) => toolsets[n]))
  const selected = tools.filter((t) => served.has(t.name))
  if (selected.length === 0)
    throw new InvalidConfigError(
      `The toolsets ${names.join(', ')} serve no tools yet (orders and solana are empty until those features land).`,
      { metaMessages: ['Add read and/or write to `tools` in the config, or to --tools.'] },
    )
  return selected
}
