import { z } from 'zod'

/**
 * A `chain` argument: registry name (`base`), chain id as string or number (`8453`), or CAIP-2 (`eip155:8453`).
 * Resolved against the registry by the tool (unknown chains get `CHAIN_NOT_FOUND`). No field description: it is
 * on every tool, and the server's instructions and `list_chains` say it once.
 *
 * @example ChainRef.parse('eip155:8453')
 */
export const ChainRef = z.union([
  z
    .string()
    .min(1)
    .max(64)
    .regex(
      /^[A-Za-z0-9:_-]+$/,
      'use a chain name, a chain id or CAIP-2 (eip155:<id>); letters, digits, ":", "-" only',
    ),
  z.number().int().positive(),
])

/** The `chain` / `caip2` pair every result carries. */
export const ChainOut = { chain: z.string(), caip2: z.string() }
