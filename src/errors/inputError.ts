import type { z } from 'zod'
import { BaseError, type ErrorCode } from './index.js'

const hints: Partial<Record<ErrorCode, string>> = {
  INVALID_ADDRESS: 'Give a 0x-prefixed 40-hex-digit address, EIP-55 checksummed or all lowercase.',
  INVALID_AMOUNT: 'Give a decimal string in display units, like "1.5": no sign, exponent, spaces or hex.',
}

/**
 * Turns a zod validation failure into one clear error: the field, what was wrong, and what to do.
 * Custom issues carry their Airlock code in `params.airlock` (INVALID_ADDRESS, INVALID_AMOUNT).
 *
 * @example throw inputError(result.error, GetBalanceInput)
 */
export function inputError(error: z.ZodError, accepted: readonly string[]): BaseError {
  const issue = error.issues[0]!
  const field = issue.path.map(String).join('.') || undefined
  const where = field ? `"${field}"` : 'the arguments'
  const params = (issue as { params?: { airlock?: ErrorCode } }).params
  const code: ErrorCode = params?.airlock ?? 'INVALID_INPUT'
  let message: string
  const meta: string[] = []
  switch (issue.code) {
    case 'unrecognized_keys':
      message = `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k.slice(0, 40)}"`).join(', ')} in ${where}.`
      if (!field) meta.push(`This tool accepts: ${accepted.join(', ')}.`)
      break
    case 'invalid_type':
      message =
        issue.input === undefined
          ? `Missing required field ${where}.`
          : `Field ${where} has the wrong type: ${issue.message}.`
      break
    default:
      message = `Field ${where} is invalid: ${issue.message}.`
  }
  const hint = hints[code]
  if (hint) meta.push(hint)
  if (error.issues.length > 1) meta.push(`${error.issues.length - 1} more problem(s) in the arguments.`)
  return new BaseError(code, message, { field, metaMessages: meta })
}
