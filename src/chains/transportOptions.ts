import { z } from 'zod'
import { InvalidConfigError, redactUrl } from '../errors/index.js'

/** Options of {@link createRpcTransport}; the schema is the source of truth, checked once when the transport is built. */
export const RpcTransportOptionsSchema = z
  .object({
    /** Registry name of the chain (`base`, `devnet`); used in errors and hints. */
    chainName: z.string().min(1),
    /** The chain id every endpoint must report from `eth_chainId`. */
    chainId: z.number().int().positive(),
    /** Endpoints in order of preference (http or https; credentials allowed, never shown). At most 32. */
    urls: z.array(z.string()).min(1).max(32),
    /** Wall-clock limit of one attempt at one endpoint, in ms. Default 8000. */
    timeoutMs: z.number().int().positive().optional(),
    /** Send a read to the next endpoint too when the first has not answered after this many ms. 0 disables. Default 250. */
    hedgeDelayMs: z.number().int().nonnegative().optional(),
    /** Largest response body accepted, in bytes. Default 10 MiB. */
    maxResponseBytes: z.number().int().positive().optional(),
    /** Per-endpoint circuit breaker. */
    breaker: z
      .object({
        /** Consecutive failures that open the circuit. Default 3. */
        failureThreshold: z.number().int().positive().optional(),
        /** How long an open circuit stays open before one probe is let through, in ms. Default 15000. */
        cooldownMs: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /** Check `eth_chainId` before an endpoint is trusted. Default true. */
    verifyChainId: z.boolean().optional(),
    /**
     * A Solana cluster: the genesis hash (base58) every endpoint must report from `getGenesisHash` before it is
     * trusted, instead of `eth_chainId`. `chainId` is then only the cluster's key in the store.
     */
    genesisHash: z
      .string()
      .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/)
      .optional(),
  })
  .strict()

/** What {@link createRpcTransport} accepts. */
export type RpcTransportOptions = z.input<typeof RpcTransportOptionsSchema>

/** Options with every default filled in and every URL parsed. */
export type ResolvedRpcTransportOptions = {
  chainName: string
  chainId: number
  urls: readonly URL[]
  timeoutMs: number
  hedgeDelayMs: number
  maxResponseBytes: number
  failureThreshold: number
  cooldownMs: number
  verifyChainId: boolean
  genesisHash: string | undefined
}

/**
 * Validates transport options and fills in defaults. Errors name the field and never show a URL's credentials.
 *
 * @example
 * resolveRpcTransportOptions({ chainName: 'base', chainId: 8453, urls: ['https://mainnet.base.org'] }).timeoutMs // 8000
 * @throws {InvalidConfigError} a field is missing or malformed, a URL is not http(s), or a URL is listed twice
 */
export function resolveRpcTransportOptions(options: RpcTransportOptions): ResolvedRpcTransportOptions {
  const parsed = RpcTransportOptionsSchema.safeParse(options)
  const chain = typeof options?.chainName === 'string' ? options.chainName.slice(0, 64) : '?'
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue?.path.join('.') || 'options'
    // Zod messages describe types and bounds, never the input value, so no URL can leak through them.
    throw new InvalidConfigError(
      `Invalid RPC transport option "${field}" for chain "${chain}": ${issue?.message}.`,
      {
        field,
        metaMessages: field === 'urls' ? ['Give 1 to 32 http(s) endpoint URLs, in order of preference.'] : [],
      },
    )
  }
  const o = parsed.data
  const urls: URL[] = []
  const seen = new Set<string>()
  for (const [i, raw] of o.urls.entries()) {
    let url: URL | undefined
    try {
      url = new URL(raw)
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InvalidConfigError(
        `RPC endpoint ${i + 1} of chain "${chain}" (${url ? redactUrl(raw) : 'not a URL'}) is not an http(s) URL.`,
        { field: `urls.${i}`, metaMessages: ['Use an http:// or https:// JSON-RPC endpoint URL.'] },
      )
    }
    if (seen.has(url.href)) {
      throw new InvalidConfigError(
        `RPC endpoint ${i + 1} of chain "${chain}" (${redactUrl(raw)}) is listed twice.`,
        {
          field: `urls.${i}`,
          metaMessages: ['Remove the duplicate endpoint.'],
        },
      )
    }
    seen.add(url.href)
    urls.push(url)
  }
  return {
    chainName: o.chainName,
    chainId: o.chainId,
    urls,
    timeoutMs: o.timeoutMs ?? 8_000,
    hedgeDelayMs: o.hedgeDelayMs ?? 250,
    maxResponseBytes: o.maxResponseBytes ?? 10 * 1024 * 1024,
    failureThreshold: o.breaker?.failureThreshold ?? 3,
    cooldownMs: o.breaker?.cooldownMs ?? 15_000,
    verifyChainId: o.verifyChainId ?? true,
    genesisHash: o.genesisHash,
  }
}
