import {
  type AbiFunction,
  type AbiParameter,
  encodeFunctionData,
  getAddress,
  type Hex,
  isHex,
  parseAbiItem,
} from 'viem'
import { z } from 'zod'
import { InvalidInputError } from '../../errors/index.js'
import { addressProblem } from '../../schemas/address.js'
import { jsonSizeProblem } from '../../schemas/jsonSize.js'

/**
 * The largest call data the gateway builds, in bytes: 128 KiB, what nodes accept for a whole transaction (geth's
 * and others' pool limit). Bigger calls could never be sent, and every step that handles them costs time.
 */
export const maxCallDataBytes = 128 * 1024

/** Longest function signature built from an ABI item, in characters (one given as text has at most 1000). */
const maxSignatureLength = 2000
/** Deepest nesting of tuples in an ABI item, and of arrays and tuples in arguments. */
const maxNesting = 16
/** Most values in one call's arguments (every array item and tuple field counts). */
const maxArgValues = 20_000
/** Most characters in one call's arguments: the hex of {@link maxCallDataBytes}, with room for the rest. */
const maxArgChars = 2 * maxCallDataBytes + 16 * 1024

/** A function given as a human-readable signature or as one ABI item (JSON). */
export const FunctionRef = z
  .union([
    z.string().min(3).max(1000),
    z.looseObject({
      type: z.literal('function'),
      name: z.string().max(256),
      inputs: z.array(z.any()).max(64),
      outputs: z.array(z.any()).max(64),
    }),
  ])
  .describe('"balanceOf(address) returns (uint256)" or ABI item')

/**
 * Call arguments as JSON: integers as decimal strings, addresses as hex, bytes as 0x-hex, tuples as arrays or objects.
 * Their size is capped (see {@link maxCallDataBytes}), checked by a walk that stops at the first cap crossed.
 */
export const CallArgs = z
  .array(z.unknown())
  .max(64)
  .superRefine((args, ctx) => {
    if (args.length > 64) return // refused by max()
    const problem = jsonSizeProblem(args, {
      maxValues: maxArgValues,
      maxChars: maxArgChars,
      maxDepth: maxNesting,
    })
    if (problem)
      ctx.addIssue({
        code: 'custom',
        message: `${problem}; a call takes at most ${maxCallDataBytes} bytes of data (the most nodes accept for a transaction)`,
      })
  })
  .optional()
  .describe('In order; integers as decimal strings')

/**
 * The call data of `fn` with `args`, refused above {@link maxCallDataBytes}.
 * @example encodeCall(fn, values) // '0xa9059cbb…'
 * @throws {InvalidInputError} the call data would be larger than nodes accept
 */
export function encodeCall(fn: AbiFunction, args: readonly unknown[]): Hex {
  const data = encodeFunctionData({ abi: [fn], functionName: fn.name, args })
  const bytes = (data.length - 2) / 2
  if (bytes > maxCallDataBytes)
    throw new InvalidInputError(
      `The call data would be ${bytes} bytes; the gateway builds calls of at most ${maxCallDataBytes} bytes (the most nodes accept for a transaction).`,
      { field: 'args', metaMessages: ['Split the work into smaller calls.'] },
    )
  return data
}

/**
 * Parses a function reference into a viem ABI function.
 * @example parseFunction('balanceOf(address) view returns (uint256)')
 * @throws {InvalidInputError} not a valid function signature
 */
export function parseFunction(ref: z.infer<typeof FunctionRef>, field = 'function'): AbiFunction {
  if (typeof ref !== 'string') return parseFunction(signatureOf(ref, field), field)
  let text = ref.trim()
  if (!text.startsWith('function ')) text = `function ${text}`
  // A read needs outputs; tolerate a missing state mutability.
  try {
    const item = parseAbiItem(text) as AbiFunction
    if (item.type !== 'function') throw new Error('not a function')
    return item
  } catch (error) {
    throw new InvalidInputError(`"${ref.slice(0, 120)}" is not a valid function signature.`, {
      field,
      details: (error as Error).message?.split('\n')[0],
      metaMessages: ['Example: "function balanceOf(address owner) view returns (uint256)".'],
    })
  }
}

/** The human-readable form of an ABI function item, so one parser validates both forms. */
function signatureOf(
  item: { name: string; inputs: unknown[]; outputs: unknown[]; stateMutability?: unknown },
  field: string,
): string {
  let length = 0
  const param = (p: unknown, depth = 0): string => {
    if (!p || typeof p !== 'object' || typeof (p as { type?: unknown }).type !== 'string')
      throw new InvalidInputError('Every ABI parameter needs a "type".', { field })
    const { type, components } = p as { type: string; components?: unknown[] }
    length += type.length + 2
    if (length > maxSignatureLength || depth >= maxNesting)
      throw new InvalidInputError(
        `The ABI item is too large: more than ${maxSignatureLength} characters as a signature, or tuples nested more than ${maxNesting} deep.`,
        { field },
      )
    if (type.startsWith('tuple')) {
      if (!Array.isArray(components))
        throw new InvalidInputError('A tuple parameter needs "components".', { field })
      return `(${components.map((c) => param(c, depth + 1)).join(', ')})${type.slice(5)}`
    }
    return type
  }
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(item.name))
    throw new InvalidInputError(`"${item.name.slice(0, 60)}" is not a valid function name.`, { field })
  const mutability =
    typeof item.stateMutability === 'string' && /^(view|pure|payable)$/.test(item.stateMutability)
      ? ` ${item.stateMutability}`
      : ''
  const outputs = item.outputs.length ? ` returns (${item.outputs.map((p) => param(p)).join(', ')})` : ''
  return `function ${item.name}(${item.inputs.map((p) => param(p)).join(', ')})${mutability}${outputs}`
}

/**
 * Converts JSON arguments to the values viem expects for `params`, with clear errors per argument.
 * @example coerceArgs(fn.inputs, ['0xabc…', '100'], 'args')
 * @throws {InvalidInputError} wrong count or a value that does not fit its type
 */
export function coerceArgs(
  params: readonly AbiParameter[],
  args: readonly unknown[],
  field = 'args',
): unknown[] {
  if (args.length !== params.length)
    throw new InvalidInputError(`The function takes ${params.length} argument(s), ${args.length} given.`, {
      field,
    })
  return params.map((p, i) => coerce(p, args[i], `${field}.${i}`))
}

function coerce(param: AbiParameter, value: unknown, field: string): unknown {
  const type = param.type
  const array = /^(.*)\[(\d*)\]$/.exec(type)
  if (array) {
    if (!Array.isArray(value)) throw bad(field, `an array for ${type}`)
    if (array[2] && value.length !== Number(array[2]))
      throw bad(field, `exactly ${array[2]} items for ${type}`)
    const inner = { ...param, type: array[1]! } as AbiParameter
    return value.map((v, i) => coerce(inner, v, `${field}.${i}`))
  }
  if (type === 'tuple') {
    const components = (param as { components: readonly AbiParameter[] }).components
    if (Array.isArray(value)) {
      if (value.length !== components.length) throw bad(field, `${components.length} tuple fields`)
      return components.map((c, i) => coerce(c, value[i], `${field}.${i}`))
    }
    if (value && typeof value === 'object')
      return Object.fromEntries(
        components.map((c, i) => [
          c.name ?? String(i),
          coerce(c, (value as Record<string, unknown>)[c.name ?? ''], `${field}.${c.name}`),
        ]),
      )
    throw bad(field, 'an array or object for a tuple')
  }
  if (/^u?int\d*$/.test(type)) {
    const unsigned = type.startsWith('u')
    const bits = Number(type.replace(/^u?int/, '') || 256)
    let n: bigint
    if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value)
    else if (typeof value === 'string' && /^-?\d{1,80}$/.test(value)) n = BigInt(value)
    else throw bad(field, `a decimal integer string for ${type}`)
    const max = unsigned ? 2n ** BigInt(bits) - 1n : 2n ** BigInt(bits - 1) - 1n
    const min = unsigned ? 0n : -(2n ** BigInt(bits - 1))
    if (n > max || n < min) throw bad(field, `a value within ${type}`)
    return n
  }
  if (type === 'address') {
    if (typeof value !== 'string') throw bad(field, 'an address string')
    const problem = addressProblem(value)
    if (problem)
      throw new InvalidInputError(`Argument "${field}" is not a valid address: ${problem}.`, { field })
    return getAddress(value)
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw bad(field, 'true or false')
    return value
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw bad(field, 'a string')
    return value
  }
  if (/^bytes\d*$/.test(type)) {
    if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length % 2 !== 0)
      throw bad(field, `0x-prefixed even-length hex for ${type}`)
    const size = Number(type.slice(5))
    if (size && (value.length - 2) / 2 !== size) throw bad(field, `exactly ${size} bytes for ${type}`)
    return value
  }
  throw bad(field, `a supported type (got ABI type ${type})`)
}

function bad(field: string, expected: string): InvalidInputError {
  return new InvalidInputError(`Argument "${field}" must be ${expected}.`, { field })
}

/** Makes a decoded ABI value JSON-safe: bigints become decimal strings. */
export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(toJson)
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]))
  return value
}
