import { type CcipRequestParameters, type Hex, isHex } from 'viem'
import { BaseError, FetchFailedError, UntrustedFetchBlockedError } from '../errors/index.js'
import type { SafeFetcher } from './safeFetch.js'

/** Options of {@link createCcipRead}. */
export type CreateCcipReadOptions = {
  /** Gateway URLs tried per lookup, in the contract's order; the rest are ignored. Default 3. */
  maxUrls?: number | undefined
}

/** viem's `ccipRead.request` hook: one EIP-3668 gateway request, answered with the hex the callback receives. */
export type CcipRead = (parameters: CcipRequestParameters) => Promise<Hex>

/**
 * Builds the EIP-3668 (CCIP-Read) gateway request for the one viem client that may follow off-chain lookups, the
 * ENS client: every gateway URL a contract names goes through the SSRF guard (`fetcher`), so a lookup never reaches
 * loopback, private or link-local addresses, plain `http:`, or a host that resolves to one; time and answer size
 * are the fetcher's caps. Contract reads use clients with CCIP-Read off.
 *
 * Follows the client lookup protocol: `{sender}` and `{data}` are substituted; a URL with `{data}` is fetched
 * with GET, any other with a POST of `{ data, sender }`; the answer is JSON `{ "data": "0x…" }` or the hex as text.
 *
 * @example
 * const client = createPublicClient({ chain, transport, ccipRead: { request: createCcipRead(createSafeFetcher()) } })
 * @throws {UntrustedFetchBlockedError} a URL is refused by the guard (the first refusal when every URL failed)
 * @throws {FetchFailedError} the gateways failed or answered something that is not hex
 */
export function createCcipRead(fetcher: SafeFetcher, options: CreateCcipReadOptions = {}): CcipRead {
  const maxUrls = options.maxUrls ?? 3
  return async ({ data, sender, urls, requestOptions }) => {
    const errors: BaseError[] = []
    for (const template of urls.slice(0, maxUrls)) {
      try {
        if (!/^https?:\/\//i.test(template))
          throw new UntrustedFetchBlockedError({ reason: 'an off-chain lookup URL must be http(s)' })
        const url = template.replaceAll('{sender}', sender.toLowerCase()).replaceAll('{data}', data)
        const signal = requestOptions?.signal ?? undefined
        const answer = await fetcher.fetchText(url, {
          signal,
          ...(template.includes('{data}') ? {} : { postJson: { data, sender: sender.toLowerCase() } }),
        })
        const result = answerData(answer.text, answer.contentType)
        if (result) return result
        throw new FetchFailedError({
          reason: 'the off-chain lookup gateway did not answer with hex data',
        })
      } catch (error) {
        if (requestOptions?.signal?.aborted) throw error
        errors.push(
          error instanceof BaseError
            ? error
            : new FetchFailedError({ reason: 'the off-chain lookup failed', cause: error }),
        )
      }
    }
    throw (
      errors.find((e) => e instanceof UntrustedFetchBlockedError) ??
      errors[0] ??
      new UntrustedFetchBlockedError({ reason: 'the off-chain lookup names no gateway URL' })
    )
  }
}

/** The gateway's answer: `{ "data": "0x…" }` as JSON, or the hex itself. */
function answerData(text: string, contentType: string): Hex | undefined {
  let value: unknown = text.trim()
  if (contentType === 'application/json' || contentType.endsWith('+json') || contentType === 'text/json') {
    try {
      value = (JSON.parse(text) as { data?: unknown } | null)?.data
    } catch {
      return undefined
    }
  }
  return typeof value === 'string' && isHex(value, { strict: true }) && value.length % 2 === 0
    ? (value as Hex)
    : undefined
}
