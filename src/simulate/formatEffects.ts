import type { Address } from 'viem'
import { z } from 'zod'
import type { ChainContext } from '../chains/chains.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'
import { formatAmount } from '../schemas/amount.js'
import { UntrustedText } from '../untrusted/untrusted.js'
import type { Simulation } from './types.js'

/** An amount of one asset: raw base units, and in display units when the asset's decimals are known. */
export const FormattedAmount = z.object({
  raw: z.string().describe('Base units, signed for balance changes (negative = out).'),
  formatted: z.string().optional().describe('In display units; absent when the decimals are unknown.'),
  decimals: z.number().optional(),
  symbol: z
    .union([z.string(), UntrustedText])
    .optional()
    .describe(
      'A plain string is the chain’s native symbol (gateway config); an envelope is the token’s own.',
    ),
  note: z.string().optional(),
})
/** An amount of one asset, formatted when its decimals are known. */
export type FormattedAmount = z.infer<typeof FormattedAmount>

/** A simulation's effects with amounts in display units, as `simulate` shows them. */
export const FormattedEffects = z.object({
  deltas: z.array(
    z.object({
      kind: z.string(),
      token: z.string().optional(),
      tokenId: z.string().optional(),
      assetId: z.string().optional().describe('CAIP-19 id of the asset'),
      amount: FormattedAmount,
    }),
  ),
  approvals: z.array(
    z.object({
      kind: z.string(),
      token: z.string(),
      spender: z.string(),
      tokenId: z.string().optional(),
      assetId: z.string().optional().describe('CAIP-19 id of what it covers'),
      unlimited: z.boolean(),
      amount: FormattedAmount.nullable().describe('null: all of a collection (setApprovalForAll).'),
    }),
  ),
})
/** A simulation's effects with amounts in display units. */
export type FormattedEffects = z.infer<typeof FormattedEffects>

const unknownDecimals =
  'the token has no usable decimals(): raw base units only, and no amount limit can apply to it'

/**
 * A simulation's balance changes and approvals with each amount in display units (`-1.5`), its decimals and
 * symbol, read from the token facts (cached). A token whose decimals cannot be read says so instead of guessing.
 *
 * @example
 * const effects = await formatEffects(chain, simulation, tokens)
 * effects?.deltas[0] // { kind: 'erc20', token: '0x…', amount: { raw: '-1500000', formatted: '-1.5', decimals: 6, symbol: { value: 'USDC', untrusted: true, … } } }
 */
export async function formatEffects(
  chain: ChainContext,
  simulation: Simulation | undefined,
  tokens: TokenFactsService,
): Promise<FormattedEffects | null> {
  if (!simulation) return null
  const native = chain.chain.nativeCurrency
  const fungible = async (token: Address, raw: bigint): Promise<FormattedAmount> => {
    const facts = await tokens.get(chain, token).catch(() => undefined)
    if (!facts) return { raw: raw.toString(), note: unknownDecimals }
    return {
      raw: raw.toString(),
      formatted: formatAmount(raw, facts.decimals),
      decimals: facts.decimals,
      symbol: facts.symbol,
    }
  }
  const id = (assetId: string | undefined) => (assetId === undefined ? {} : { assetId })
  const deltas = await Promise.all(
    simulation.deltas.map(async (d) => {
      if (d.kind === 'native')
        return {
          kind: d.kind,
          ...id(d.assetId),
          amount: {
            raw: d.raw.toString(),
            formatted: formatAmount(d.raw, native.decimals),
            decimals: native.decimals,
            symbol: native.symbol,
          },
        }
      if (d.kind === 'erc20')
        return { kind: d.kind, token: d.token, ...id(d.assetId), amount: await fungible(d.token, d.raw) }
      if (d.kind === 'spl')
        return { kind: d.kind, token: d.token, ...id(d.assetId), amount: { raw: d.raw.toString() } }
      return {
        kind: d.kind,
        token: d.token,
        tokenId: d.tokenId.toString(),
        ...id(d.assetId),
        amount: { raw: d.raw.toString(), note: 'items of a collection, no decimals' },
      }
    }),
  )
  const approvals = await Promise.all(
    simulation.approvals.map(async (a) => {
      const base = {
        kind: a.kind,
        token: a.token,
        spender: a.spender,
        ...(a.tokenId === undefined ? {} : { tokenId: a.tokenId.toString() }),
        ...id(a.assetId),
        unlimited: a.unlimited,
      }
      if (a.amount === null) return { ...base, amount: null }
      if (a.kind === 'erc20' || a.kind === 'permit2') {
        const amount = await fungible(a.token, a.amount)
        return { ...base, amount: a.unlimited ? { ...amount, formatted: 'unlimited' } : amount }
      }
      return { ...base, amount: { raw: a.amount.toString(), note: 'items of a collection, no decimals' } }
    }),
  )
  return { deltas, approvals }
}
