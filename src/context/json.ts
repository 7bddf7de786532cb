/**
 * JSON as the gateway stores and returns it: bigints as decimal strings, since amounts, gas and block numbers are
 * bigints in memory and JSON has no such type. Shared by the pipeline, the store, the audit and the tools, so it
 * lives at the bottom of the import graph.
 */

/** A JSON value (what a `jsonb` column holds and a tool result carries). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue }

/**
 * `JSON.stringify` replacer writing bigints as decimal strings.
 *
 * @example JSON.stringify({ value: 10n }, bigintReplacer) // '{"value":"10"}'
 */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/**
 * `JSON.stringify` with bigints as decimal strings.
 *
 * @example stringifyJson({ raw: -1500000n }) // '{"raw":"-1500000"}'
 */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, bigintReplacer)
}

/**
 * A JSON-safe copy: bigints as decimal strings, `undefined` members dropped, dates as ISO text; `undefined` itself
 * becomes `null`.
 *
 * @example toJson({ amount: 5n, note: undefined }) // { amount: '5' }
 */
export function toJson<T extends JsonValue = JsonValue>(value: unknown): T {
  return JSON.parse(JSON.stringify(value ?? null, bigintReplacer)) as T
}
