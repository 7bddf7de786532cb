import { z } from 'zod'
import { InvalidInputError } from '../errors/index.js'
import { parseDecimal, pow10 } from '../policy/decimal.js'
import { AmountString } from '../schemas/amount.js'

/** Fixed point of every price an order sees: 18 decimals (1 WAD = 1.0). */
export const wad = 10n ** 18n

/** The shortest interval an interval trigger may have (a tighter loop is a bot, not a standing order). */
export const minIntervalSeconds = 60

/** The longest an order may live. */
export const maxLifetimeSeconds = 366 * 24 * 3600

/** A percentage as a decimal string with at most two decimals (`"0.5"`), no sign. */
const Percent = z
  .string()
  .max(8)
  .regex(/^\d{1,3}(\.\d{1,2})?$/, 'a percentage like "0.5" (at most two decimals)')

/** A token: a symbol the gateway knows for orders on the chain (`WETH`) or an address. */
const TokenRef = z.string().regex(/^[A-Za-z0-9.]{1,64}$/, 'a token symbol like "WETH", or its 0x address')

const PairName = z
  .string()
  .max(32)
  .regex(/^[A-Za-z0-9.]{1,12}\/[A-Za-z0-9.]{1,12}$/, 'a pair like "ETH/BTC"')

/**
 * Requires `fields` on an object whose `kind` is `kind`, and refuses fields of the other kinds: one flat object per
 * union keeps `tools/list` small (a model reads it), with the same refusals a discriminated union would give.
 */
function byKind<T extends { kind: string }>(shapes: Record<string, readonly string[]>) {
  return (value: T, ctx: z.RefinementCtx) => {
    const need = shapes[value.kind] ?? []
    const all = new Set(Object.values(shapes).flat())
    for (const field of need)
      if ((value as Record<string, unknown>)[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `a ${value.kind} needs ${field}` })
    for (const field of all)
      if (!need.includes(field) && (value as Record<string, unknown>)[field] !== undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `a ${value.kind} takes no ${field}` })
  }
}

/** What fires an order: `move` (pair, percent), `cross` (pair, direction, level) or `interval` (seconds). */
export const TriggerInput = z
  .object({
    kind: z.enum(['move', 'cross', 'interval']),
    pair: PairName.optional(),
    percent: Percent.optional(),
    direction: z.enum(['above', 'below']).optional(),
    level: AmountString.optional(),
    seconds: z.number().int().min(minIntervalSeconds).max(maxLifetimeSeconds).optional(),
  })
  .strict()
  .superRefine(
    byKind({ move: ['pair', 'percent'], cross: ['pair', 'direction', 'level'], interval: ['seconds'] }),
  )
  .describe('move: pair, percent; cross: pair, direction, level; interval: seconds')

/** What an order does: `rebalance` (weights), `swap` (tokenIn, tokenOut, amountIn) or `transfer` (token, to, amount). */
export const ActionInput = z
  .object({
    kind: z.enum(['rebalance', 'swap', 'transfer']),
    weights: z
      .array(z.object({ token: TokenRef, percent: Percent }).strict())
      .min(2)
      .max(8)
      .optional()
      .describe('[{token, percent}], sum 100'),
    tokenIn: TokenRef.optional(),
    tokenOut: TokenRef.optional(),
    amountIn: AmountString.optional(),
    token: TokenRef.optional(),
    to: z.string().max(100).optional(),
    amount: AmountString.optional(),
  })
  .strict()
  .superRefine(
    byKind({
      rebalance: ['weights'],
      swap: ['tokenIn', 'tokenOut', 'amountIn'],
      transfer: ['token', 'to', 'amount'],
    }),
  )

/** The guards of an order; every one has a default (README: standing orders). */
export const GuardsInput = z
  .object({
    maxDeviationPercent: Percent.optional(),
    maxAgeSeconds: z.number().int().min(1).max(86_400).optional(),
    rearmPercent: Percent.optional(),
    cooldownSeconds: z.number().int().min(0).max(maxLifetimeSeconds).optional(),
    maxFiresPerDay: z.number().int().min(1).max(96).optional(),
    maxSlippagePercent: Percent.optional(),
    expiresInSeconds: z.number().int().min(60).max(maxLifetimeSeconds).optional(),
  })
  .strict()

/** create_standing_order's order fields (the tool adds chain and idempotency key). */
export const OrderInput = {
  trigger: TriggerInput,
  action: ActionInput,
  budgetUsd: AmountString.describe('Most all fires may spend, USD'),
  guards: GuardsInput.optional(),
}

/** An order's guards with every default applied; percentages in basis points. */
export type OrderGuards = {
  maxDeviationBps: number
  maxAgeSeconds: number
  rearmBps: number
  cooldownSeconds: number
  maxFiresPerDay: number
  maxSlippageBps: number
  /** Evaluations in a row with stale, missing or disagreeing sources before the order pauses. */
  pauseAfter: number
  /** Failed fires in a row before the order pauses. */
  failuresBeforePause: number
}

/** A trigger as stored: prices in WAD. */
export type OrderTrigger =
  | { kind: 'move'; pair: string; thresholdBps: number }
  | { kind: 'cross'; pair: string; direction: 'above' | 'below'; level: string }
  | { kind: 'interval'; seconds: number }

/** A resolved token of an order's action. */
export type OrderToken = { address: `0x${string}`; symbol: string; decimals: number }

/** An action as stored: tokens resolved, amounts in base units (decimal strings). */
export type OrderAction =
  | { kind: 'rebalance'; weights: { token: OrderToken; bps: number }[] }
  | { kind: 'swap'; tokenIn: OrderToken; tokenOut: OrderToken; amountIn: string }
  | { kind: 'transfer'; token: OrderToken; to: `0x${string}`; amount: string }

/** A standing order as the gateway keeps it: resolved, defaults applied, JSON-safe. */
export type OrderSpec = {
  chain: string
  chainId: number
  trigger: OrderTrigger
  action: OrderAction
  guards: OrderGuards
  /** micro-USD, a decimal string. */
  budget: string
  /** Unix seconds. */
  expiresAt: number
}

/**
 * A percentage string in basis points.
 *
 * @example percentToBps('0.5') // 50
 */
export function percentToBps(value: string): number {
  const d = parseDecimal(value)
  return Number(d.int * pow10(2 - d.scale))
}

/**
 * The guards with defaults applied (DESIGN §10).
 *
 * @example resolveGuards({ cooldownSeconds: 60 }).maxDeviationBps // 100
 */
export function resolveGuards(input: z.infer<typeof GuardsInput> | undefined): OrderGuards {
  const g = input ?? {}
  const guards: OrderGuards = {
    maxDeviationBps: percentToBps(g.maxDeviationPercent ?? '1'),
    maxAgeSeconds: g.maxAgeSeconds ?? 3600,
    rearmBps: percentToBps(g.rearmPercent ?? '0.1'),
    cooldownSeconds: g.cooldownSeconds ?? 300,
    maxFiresPerDay: g.maxFiresPerDay ?? 4,
    maxSlippageBps: percentToBps(g.maxSlippagePercent ?? '1'),
    pauseAfter: 3,
    failuresBeforePause: 3,
  }
  if (guards.maxDeviationBps <= 0 || guards.maxDeviationBps > 1000)
    throw new InvalidInputError('maxDeviationPercent must be more than 0 and at most 10.', {
      field: 'guards.maxDeviationPercent',
    })
  if (guards.maxSlippageBps <= 0 || guards.maxSlippageBps > 1000)
    throw new InvalidInputError('maxSlippagePercent must be more than 0 and at most 10.', {
      field: 'guards.maxSlippagePercent',
    })
  if (guards.rearmBps > 5000)
    throw new InvalidInputError('rearmPercent must be at most 50.', { field: 'guards.rearmPercent' })
  return guards
}

/**
 * A trigger with its numbers checked and converted (percent → bps, level → WAD).
 *
 * @throws {InvalidInputError} a move of 0 or over 50 %, a level of 0
 */
export function resolveTrigger(input: z.infer<typeof TriggerInput>): OrderTrigger {
  switch (input.kind) {
    case 'move': {
      const thresholdBps = percentToBps(input.percent!)
      if (thresholdBps <= 0 || thresholdBps > 5000)
        throw new InvalidInputError('A move trigger takes a percent above 0 and at most 50.', {
          field: 'trigger.percent',
        })
      return { kind: 'move', pair: input.pair!.toUpperCase(), thresholdBps }
    }
    case 'cross': {
      const level = toWad(input.level!)
      if (level === 0n)
        throw new InvalidInputError('A cross trigger needs a level above 0.', { field: 'trigger.level' })
      return {
        kind: 'cross',
        pair: input.pair!.toUpperCase(),
        direction: input.direction!,
        level: level.toString(),
      }
    }
    case 'interval':
      return { kind: 'interval', seconds: input.seconds! }
  }
}

/**
 * A plain decimal string in WAD (18 decimals), rounded down.
 *
 * @example toWad('1.5') // 1500000000000000000n
 */
export function toWad(value: string): bigint {
  const d = parseDecimal(value)
  return d.scale <= 18 ? d.int * pow10(18 - d.scale) : d.int / pow10(d.scale - 18)
}

/**
 * A WAD as a decimal string with at most `digits` fraction digits (rounded down), for people.
 *
 * @example formatWad(1500000000000000000n) // '1.5'
 */
export function formatWad(value: bigint, digits = 8): string {
  const negative = value < 0n
  const v = negative ? -value : value
  const whole = v / wad
  const fraction = ((v % wad) / pow10(18 - digits)).toString().padStart(digits, '0').replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
}
