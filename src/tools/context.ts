import type { Chains } from '../chains/chains.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { WritePath } from '../pipeline/write.js'

/** Fetches remote JSON (NFT metadata, avatars) through the SSRF guard. */
export type MetadataFetcher = {
  fetchJson(url: string): Promise<{ url: string; contentType: string; json: unknown }>
}

/**
 * What a tool handler receives besides its input. Tools never see keys, the signer or payments: the
 * pipeline owns those (DESIGN §1).
 */
export type ToolContext = {
  chains: Chains
  tokens: TokenFactsService
  fetcher: MetadataFetcher
  /** Registry name of the chain where ENS lives by default (`ethereum`, or `devnet` in demo mode). */
  ensChain: string
  /** The embedded devnet's fixtures, in devnet mode. */
  devnet: DevnetFixtures | undefined
  /** The write path (journal, signer, tracker), when the gateway has a wallet and a store. */
  writes?: WritePath | undefined
}
