import { getBase58Decoder } from '@solana/kit'
import type { LiteSVM } from 'litesvm'
import { DevnetError } from '../../errors/index.js'
import { deploySolanaFixtures, type SolanaDevnetFixtures, solanaFixtureKeys } from './fixtures.js'
import { sha256 } from './keys.js'
import { LocalLedger } from './localLedger.js'
import { createSolanaRpcMethods } from './rpcMethods.js'
import { startJsonRpcServer } from './rpcServer.js'

/** Options of {@link startSolanaDevnet}. */
export type StartSolanaDevnetParameters = {
  /** Port; 0 (default) picks a free one. */
  port?: number | undefined
  /** Interface to bind. Default 127.0.0.1. */
  host?: string | undefined
}

/** A running Solana devnet: litesvm behind a JSON-RPC server, with fixtures. */
export type SolanaDevnet = {
  /** `http://127.0.0.1:<port>`, for `createSolanaRpc(rpcUrl)`. */
  rpcUrl: string
  port: number
  /** base58 of sha256('airlock solana-local genesis'): fixed, so the CAIP-2 id is stable. */
  genesisHash: string
  /** `solana:<first 32 characters of the genesis hash>`. */
  caip2: string
  fixtures: SolanaDevnetFixtures
  /** The litesvm instance, for tests that need to look or reach past the RPC. */
  svm: LiteSVM
  /**
   * Expires the current blockhash: the block height jumps past its lastValidBlockHeight and a new blockhash is
   * issued; later sends of transactions using the old one fail with BlockhashNotFound.
   */
  expireBlockhash(): void
  /**
   * The next `count` (default 1) sendTransaction calls answer a signature but do not execute (a dropped
   * transaction); getSignatureStatuses then answers null for them. Sending the same bytes again later executes.
   */
  dropNextSends(count?: number): void
  /** Closes the server. Safe to call more than once. */
  stop(): Promise<void>
}

/** Chain name of the devnet in the registry and fixtures. */
export const SOLANA_DEVNET_CHAIN = 'solana-local'
/** The devnet's genesis hash: base58 of sha256('airlock solana-local genesis'). */
export const SOLANA_DEVNET_GENESIS_HASH = getBase58Decoder().decode(sha256('airlock solana-local genesis'))
/** The devnet's CAIP-2 chain id. */
export const SOLANA_DEVNET_CAIP2 = `solana:${SOLANA_DEVNET_GENESIS_HASH.slice(0, 32)}`

// litesvm's own airdrop pool holds 1,000,000 SOL.
const FAUCET_LAMPORTS = 500_000n * 1_000_000_000n

/**
 * Starts the embedded Solana devnet (DESIGN §4): a litesvm instance with the standard programs (SPL Token,
 * Token-2022, Associated Token Account) behind a Solana JSON-RPC server on 127.0.0.1, then the fixtures.
 *
 * @example
 * const devnet = await startSolanaDevnet()
 * const rpc = createSolanaRpc(devnet.rpcUrl)
 * const { value } = await rpc.getBalance(address(devnet.fixtures.accounts[0].address)).send()
 * await devnet.stop()
 * @throws {DevnetError} the port cannot be bound or a fixture transaction fails
 */
export async function startSolanaDevnet(parameters: StartSolanaDevnetParameters = {}): Promise<SolanaDevnet> {
  let ledger: LocalLedger
  let fixtureParts: Awaited<ReturnType<typeof deploySolanaFixtures>>
  try {
    const keys = await solanaFixtureKeys()
    ledger = LocalLedger.create(keys.faucet.signer, FAUCET_LAMPORTS)
    fixtureParts = await deploySolanaFixtures(ledger, keys)
  } catch (error) {
    throw new DevnetError('The Solana devnet fixtures could not be set up.', {
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    })
  }
  let server: Awaited<ReturnType<typeof startJsonRpcServer>>
  try {
    server = await startJsonRpcServer({
      methods: createSolanaRpcMethods(ledger, SOLANA_DEVNET_GENESIS_HASH),
      host: parameters.host,
      port: parameters.port,
    })
  } catch (error) {
    throw new DevnetError('The Solana devnet RPC server could not start.', {
      details: error instanceof Error ? error.message : String(error),
      metaMessages: ['Choose another port, or 0 for a free one.'],
      cause: error,
    })
  }
  const fixtures: SolanaDevnetFixtures = {
    chain: SOLANA_DEVNET_CHAIN,
    caip2: SOLANA_DEVNET_CAIP2,
    genesisHash: SOLANA_DEVNET_GENESIS_HASH,
    rpcUrl: server.url,
    ...fixtureParts,
  }
  return {
    rpcUrl: server.url,
    port: server.port,
    genesisHash: SOLANA_DEVNET_GENESIS_HASH,
    caip2: SOLANA_DEVNET_CAIP2,
    fixtures,
    svm: ledger.svm,
    expireBlockhash: () => ledger.expireBlockhash(),
    dropNextSends: (count = 1) => ledger.dropNextSends(count),
    stop: () => server.close(),
  }
}
