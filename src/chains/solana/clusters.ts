/**
 * The Solana clusters the gateway knows (DESIGN §3, §8). A cluster is identified by its genesis hash: CAIP-2 is
 * `solana:` and the hash's first 32 characters, and an endpoint is trusted only after `getGenesisHash` matches
 * (ADVERSARIAL 60). Names are public API: add, never rename.
 *
 * `id` is the cluster's key in the store (intents, limits, journals are keyed by a numeric chain id): numbers in
 * the range `0x534F4C00 + n` ("SOL" and a counter), which no EVM chain in the registry uses. It never reaches a
 * transaction: Solana transactions carry no chain id, the blockhash binds them to their cluster.
 */
export type SolanaCluster = {
  readonly name: string
  readonly genesisHash: string
  readonly id: number
  readonly testnet: boolean
  /** The cluster's public endpoint, used only when nothing is configured (rate-limited; fine for reads). */
  readonly publicRpc: readonly string[]
}

/** Base of the store keys of Solana clusters: "SOL" in ASCII, then a counter. */
export const solanaIdBase = 0x534f4c00

export const solanaClusters: readonly SolanaCluster[] = [
  {
    name: 'solana',
    genesisHash: '5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d',
    id: solanaIdBase + 1,
    testnet: false,
    publicRpc: ['https://api.mainnet-beta.solana.com'],
  },
  {
    name: 'solana-devnet',
    genesisHash: 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG',
    id: solanaIdBase + 2,
    testnet: true,
    publicRpc: ['https://api.devnet.solana.com'],
  },
  {
    name: 'solana-testnet',
    genesisHash: '4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY',
    id: solanaIdBase + 3,
    testnet: true,
    publicRpc: ['https://api.testnet.solana.com'],
  },
]

/** The embedded devnet's registry name and store key; its genesis hash comes from the devnet itself. */
export const solanaLocal = { name: 'solana-local', id: solanaIdBase + 4 } as const

/** CAIP-2 of a cluster: `solana:<first 32 characters of the genesis hash>`. */
export function solanaCaip2(genesisHash: string): string {
  return `solana:${genesisHash.slice(0, 32)}`
}

/** CAIP-19 of SOL on a cluster (SLIP-44 coin type 501). */
export function solNativeAssetId(caip2: string): string {
  return `${caip2}/slip44:501`
}

/** CAIP-19 of an SPL or Token-2022 token on a cluster: `solana:…/token:<mint>` (base58, case kept). */
export function splAssetId(caip2: string, mint: string): string {
  return `${caip2}/token:${mint}`
}
