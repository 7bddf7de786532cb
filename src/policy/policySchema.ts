import { parseAbiItem, toFunctionSignature } from 'viem'
import { z } from 'zod'
import { InvalidConfigError } from '../errors/index.js'
import { addressProblem, EvmAddress } from '../schemas/address.js'
import { amountSyntaxProblem } from '../schemas/amount.js'
import { solanaAddressProblem } from '../schemas/solanaAddress.js'
import { compareRaw, parseDecimal } from './decimal.js'
import { policyOperations } from './types.js'

/** Weekday names a rule's `time.days` takes, in `Date#getUTCDay()` order. */
export const policyWeekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const

/** The longest limit window: a year and a day. */
export const maxWindowSeconds = 366 * 86_400

const unitSeconds = { s: 1, m: 60, h: 3_600, d: 86_400 } as const

/**
 * Seconds in a window string like `"24h"`, or `undefined` when it does not read as `<digits><s|m|h|d>`.
 *
 * @example windowSeconds('15m') // 900
 */
export function windowSeconds(window: string): number | undefined {
  const m = /^(\d{1,9})([smhd])$/.exec(window)
  return m ? Number(m[1]) * unitSeconds[m[2] as keyof typeof unitSeconds] : undefined
}

const typeName = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a JSON ${typeof value}`

/** A plain decimal string in display units: digits with at most one `.`; no sign, exponent, spaces or hex. */
const DecimalString = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'it is missing; give a decimal string like "1.5"'
        : `give a decimal string like "1.5", not ${typeName(issue.input)}`,
  })
  .superRefine((value, ctx) => {
    const problem = value.length > 100 ? 'it is longer than 100 characters' : amountSyntaxProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (give a decimal string like "1.5")` })
  })

/** Lower and upper bounds on an amount; every bound given must hold. */
const Bounds = z
  .object({
    lt: DecimalString.optional(),
    lte: DecimalString.optional(),
    gt: DecimalString.optional(),
    gte: DecimalString.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.lt === undefined && b.lte === undefined && b.gt === undefined && b.gte === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give at least one bound: lt, lte, gt or gte' })
      return
    }
    // A range no amount can fall in is a typo that would silently disable the rule.
    const lower = b.gt ?? b.gte
    const upper = b.lt ?? b.lte
    if (lower === undefined || upper === undefined) return
    if (amountSyntaxProblem(lower) || amountSyntaxProblem(upper)) return
    const lo = parseDecimal(lower)
    const cmp = compareRaw(lo.int, lo.scale, parseDecimal(upper))
    if (cmp > 0 || (cmp === 0 && (b.gt !== undefined || b.lt !== undefined)))
      ctx.addIssue({ code: 'custom', message: `no amount is both above ${lower} and below ${upper}` })
  })

/**
 * An address a rule names: an EVM address (checksummed or lowercase, normalized to EIP-55), or a Solana address
 * (base58, 32 bytes, kept as written: base58 is case-sensitive).
 */
const RuleAddress = z
  .string({ error: (issue) => `give an address, not ${typeName(issue.input)}` })
  .max(100)
  .transform((value, ctx) => {
    const evm = value.startsWith('0x')
    const problem = evm ? addressProblem(value) : solanaAddressProblem(value)
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: evm ? problem : `${problem} (an EVM address starts with 0x)`,
      })
      return z.NEVER
    }
    return evm ? (EvmAddress.parse(value) as string) : value
  })

/** Risks of a Token-2022 mint, as `match.tokenRisks` names them (see `src/chains/solana/mint.ts`). */
export const tokenRiskNames = [
  'transfer-fee',
  'permanent-delegate',
  'transfer-hook',
  'pausable',
  'default-frozen',
  'close-authority',
  'non-transferable',
  'confidential-transfers',
  'scaled-amounts',
  'unknown-extension',
] as const

/** A Solana program a rule names: a well-known one by name, or any program by its address. */
const ProgramRef = z
  .string({ error: (issue) => `give a program name or address, not ${typeName(issue.input)}` })
  .max(100)
  .transform((value, ctx) => {
    if (['system', 'spl-token', 'token-2022', 'associated-token', 'compute-budget'].includes(value))
      return value
    const problem = solanaAddressProblem(value)
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value.slice(0, 60)}" is neither a program name (system, spl-token, token-2022, associated-token, compute-budget) nor a program address: ${problem}`,
      })
      return z.NEVER
    }
    return value
  })

/** A token: an address, or `native` for the chain's own coin. */
const TokenRef = z
  .string({ error: (issue) => `give a token address or "native", not ${typeName(issue.input)}` })
  .max(100)
  .transform((value, ctx) => {
    if (value === 'native') return 'native' as const
    if (!value.startsWith('0x') && !solanaAddressProblem(value)) return value as `0x${string}`
    const problem = addressProblem(value)
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `${problem} (or write "native" for the chain's own coin)` })
      return z.NEVER
    }
    return EvmAddress.parse(value)
  })

/** A chain: a registry name, a decimal chain id, or CAIP-2. Names compare case-insensitively. */
const ChainEntry = z
  .union([z.string(), z.number()], {
    error: (issue) => `give a chain name like "base", a chain id or CAIP-2, not ${typeName(issue.input)}`,
  })
  .transform((value, ctx) => {
    const text = String(value)
    if (
      typeof value === 'number' ? !Number.isSafeInteger(value) || value <= 0 : !/^[\w:.-]{1,100}$/.test(text)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text.slice(0, 40)}" is not a chain name, chain id or CAIP-2`,
      })
      return z.NEVER
    }
    return text.includes(':') ? text : text.toLowerCase()
  })

/** A function signature, normalized to the canonical form the gateway decodes calldata into. */
const FunctionSignature = z
  .string({ error: (issue) => `give a function signature string, not ${typeName(issue.input)}` })
  .max(500)
  .transform((value, ctx) => {
    if (value === 'opaque') {
      ctx.addIssue({
        code: 'custom',
        message:
          '"opaque" marks calldata the gateway cannot decode and never matches; list real signatures like "transfer(address,uint256)"',
      })
      return z.NEVER
    }
    try {
      return toFunctionSignature(parseAbiItem(`function ${value.replace(/^function\s+/, '')}`) as never)
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `"${value.slice(0, 60)}" is not a function signature; write it like "transfer(address,uint256)"`,
      })
      return z.NEVER
    }
  })

/** A host name as a `pay` rule names it: `api.example.com`, or `*.example.com` for any subdomain. */
const HostPattern = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'a lowercase host name like "api.example.com", or "*.example.com" for its subdomains (no scheme, port or path)',
  )

const nonEmpty = 'an empty list matches nothing; remove the field to match any value'
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1, nonEmpty).max(1000)

const HourOfDay = z
  .number({ error: 'give an hour as a whole number 0–24' })
  .int('give an hour as a whole number 0–24')
  .min(0, 'hours run from 0 to 24')
  .max(24, 'hours run from 0 to 24')

/** Conditions of a rule; every one given must hold. */
export const PolicyMatch = z
  .object({
    operation: list(z.enum(policyOperations)).optional(),
    chain: list(ChainEntry).optional(),
    wallet: list(RuleAddress).optional(),
    agent: list(z.string().min(1).max(200)).optional(),
    developer: list(z.string().min(1).max(200)).optional(),
    origin: list(z.enum(['tool', 'order', 'payout']))
      .optional()
      .describe("What started the write: an agent's tool call, a standing order firing, a revenue payout."),
    to: list(RuleAddress).optional(),
    host: list(HostPattern)
      .optional()
      .describe(
        'For `pay`: the host of the URL bought from, exactly, or `*.example.com` for its subdomains.',
      ),
    token: list(TokenRef).optional(),
    contract: list(RuleAddress).optional(),
    programs: list(ProgramRef)
      .optional()
      .describe(
        'Solana: every program the transaction calls must be one of these (names or addresses). An allow rule without it allows only the standard programs.',
      ),
    tokenRisks: list(z.enum(tokenRiskNames))
      .optional()
      .describe('Solana: the token moved has at least one of these Token-2022 risks.'),
    function: list(FunctionSignature).optional(),
    addressBook: z.enum(['listed', 'unlisted']).optional(),
    amount: Bounds.optional(),
    value: Bounds.optional(),
    simulation: z
      .object({
        outflowUsd: Bounds.optional(),
        newApprovals: z.enum(['none', 'any', 'unlimited']).optional(),
        reverts: z.boolean({ error: 'give true or false' }).optional(),
      })
      .strict()
      .refine((s) => Object.keys(s).length > 0, 'give at least one of outflowUsd, newApprovals, reverts')
      .optional(),
    time: z
      .object({
        hoursUtc: z
          .tuple([HourOfDay, HourOfDay], { error: 'give [from, to] hours in UTC, like [8, 18]' })
          .refine(([from, to]) => from < to, {
            message:
              'from must be before to ([from, to) is half-open in UTC; a night window needs two rules)',
          })
          .optional(),
        days: list(z.enum(policyWeekdays))
          .refine((days) => new Set(days).size === days.length, 'a day is listed twice')
          .optional(),
      })
      .strict()
      .refine((t) => Object.keys(t).length > 0, 'give hoursUtc, days or both')
      .optional(),
  })
  .strict()

/** A rolling budget an allow rule charges. */
export const PolicyLimit = z
  .object({
    id: z.string().regex(/^[a-z0-9._-]{1,64}$/, 'use 1–64 characters of a-z, 0-9, ".", "_" or "-"'),
    metric: z.enum(['outflow', 'outflowUsd', 'count']),
    token: TokenRef.optional(),
    window: z.string().superRefine((value, ctx) => {
      const seconds = windowSeconds(value)
      if (seconds === undefined)
        ctx.addIssue({
          code: 'custom',
          message: `"${value.slice(0, 20)}" is not a window; write it like "30s", "15m", "24h" or "7d"`,
        })
      else if (seconds === 0) ctx.addIssue({ code: 'custom', message: 'a window must be longer than 0' })
      else if (seconds > maxWindowSeconds)
        ctx.addIssue({ code: 'custom', message: 'a window is at most 366d' })
    }),
    max: DecimalString,
  })
  .strict()

/** One rule: an effect, what it matches, and (for allow) the budgets it charges. */
export const PolicyRule = z
  .object({
    id: z.string().regex(/^[a-z0-9._-]{1,64}$/, 'use 1–64 characters of a-z, 0-9, ".", "_" or "-"'),
    effect: z.enum(['allow', 'deny', 'require_approval']),
    description: z.string().max(500).optional(),
    match: PolicyMatch.optional(),
    limits: z.array(PolicyLimit).max(20).optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const limits = rule.limits ?? []
    if (limits.length && rule.effect !== 'allow') {
      ctx.addIssue({
        code: 'custom',
        path: ['limits'],
        message: `limits apply only to allow rules; this rule's effect is ${rule.effect}`,
      })
      return
    }
    const seen = new Set<string>()
    limits.forEach((limit, i) => {
      if (seen.has(limit.id))
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'id'],
          message: `limit id "${limit.id}" is used twice in this rule`,
        })
      seen.add(limit.id)
      if (limit.metric !== 'outflow' && limit.token !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'token'],
          message: `a ${limit.metric} limit takes no token; only outflow limits are per token`,
        })
      if (limit.metric === 'outflow' && limit.token === undefined && rule.match?.token?.length !== 1)
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'token'],
          message:
            'an outflow limit needs a token (an address or "native"), unless the rule\'s match.token names exactly one',
        })
      const fraction = limit.max.split('.')[1]?.replace(/0+$/, '').length ?? 0
      if (limit.metric === 'count' && fraction > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'max'],
          message: 'a count limit is a whole number',
        })
      if (limit.metric === 'outflowUsd' && fraction > 6)
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'max'],
          message: 'a USD limit has at most 6 decimals (micro-dollars)',
        })
    })
  })

/** A spend policy (`version: 1`): rules, deny-by-default. */
export const Policy = z
  .object(
    {
      version: z.literal(1, { error: 'version must be 1 (the only policy format so far)' }),
      description: z.string().max(2000).optional(),
      rules: z
        .array(PolicyRule, {
          error: (issue) =>
            issue.input === undefined
              ? 'it is missing; give a list of rules (an empty list denies every write)'
              : 'give the rules as a list',
        })
        .max(1000),
    },
    { error: 'a policy is a JSON object like { "version": 1, "rules": [ … ] }' },
  )
  .strict()
  .superRefine((policy, ctx) => {
    const seen = new Set<string>()
    policy.rules.forEach((rule, i) => {
      if (seen.has(rule.id))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `rule id "${rule.id}" is used twice`,
        })
      seen.add(rule.id)
    })
  })

/** A validated policy. */
export type Policy = z.infer<typeof Policy>
/** A validated rule. */
export type PolicyRule = z.infer<typeof PolicyRule>
/** A validated rule's `match`. */
export type PolicyMatch = z.infer<typeof PolicyMatch>
/** Validated bounds (`amount`, `value`, `simulation.outflowUsd`). */
export type PolicyBounds = NonNullable<PolicyMatch['amount']>
/** A validated limit. */
export type PolicyLimit = z.infer<typeof PolicyLimit>

/** `['rules', 2, 'match']` → `policy.rules[2].match`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = 'policy'
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`
  return out
}

/**
 * Validates a policy; the error names the first bad field by its full path (`policy.rules[2].match.amount.lte`)
 * and says what to write instead.
 *
 * @example parsePolicy({ version: 1, rules: [{ id: 'all-reads', effect: 'deny' }] })
 * @throws {InvalidConfigError} the first bad field, with its path
 */
export function parsePolicy(value: unknown, source = 'policy'): Policy {
  const result = Policy.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  let path: readonly PropertyKey[] = issue.path
  let message = issue.message
  if (issue.code === 'unrecognized_keys') {
    path = [...path, issue.keys[0]!]
    message = `unknown field "${issue.keys[0]!.slice(0, 40)}"; remove it or fix its spelling`
  }
  const field = fieldPath(path)
  throw new InvalidConfigError(`Invalid ${source}: field "${field}" — ${message}.`, {
    field,
    metaMessages: ['See the Policy section of the README for the rule format.'],
  })
}
