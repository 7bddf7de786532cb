/** Caps of {@link jsonSizeProblem}. */
export type JsonSizeCaps = {
  /** Most values in all (every array item, object member and scalar counts). */
  maxValues: number
  /** Most characters in all strings and keys together (a number counts as 24). */
  maxChars: number
  /** Deepest nesting of arrays and objects. */
  maxDepth: number
}

/**
 * Why a parsed JSON input is too big or too deep to handle, or `undefined`. One walk that stops at the first cap
 * crossed, so refusing a huge input costs no more than accepting the largest allowed one.
 *
 * @example jsonSizeProblem(args, { maxValues: 20_000, maxChars: 278_528, maxDepth: 16 }) // undefined
 */
export function jsonSizeProblem(value: unknown, caps: JsonSizeCaps): string | undefined {
  let values = 0
  let chars = 0
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }]
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (++values > caps.maxValues) return `it holds more than ${caps.maxValues} values`
    const v = item.value
    if (typeof v === 'string') chars += v.length
    else if (typeof v === 'number' || typeof v === 'bigint') chars += 24
    if (chars > caps.maxChars) return `it is longer than ${caps.maxChars} characters`
    if (v === null || typeof v !== 'object') continue
    if (item.depth >= caps.maxDepth) return `it nests arrays or objects more than ${caps.maxDepth} deep`
    if (Array.isArray(v)) for (const x of v) stack.push({ value: x, depth: item.depth + 1 })
    else
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue
        chars += key.length
        stack.push({ value: (v as Record<string, unknown>)[key], depth: item.depth + 1 })
      }
  }
  return undefined
}
