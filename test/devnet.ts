import { afterAll, beforeAll, inject } from 'vitest'
import type { DevnetFixtures } from '../src/devnet/fixtures.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Fixtures of the devnets started by test/globalSetup.ts, one per worker (index = VITEST_POOL_ID - 1). */
    devnets: DevnetFixtures[]
  }
}

/** Options of {@link useDevnet}. */
export type UseDevnetOptions = {
  /**
   * Snapshot the chain before this file's tests and revert after them, so what the file does (transfers, deploys)
   * is invisible to the next file on this worker. Call `useDevnet` at the top level of the file to use it.
   */
  isolate?: boolean
}

/**
 * The devnet of this test worker (started once per worker by test/globalSetup.ts). Files on one worker run one
 * after another against the same chain: assert on changes you cause, or pass `{ isolate: true }`.
 *
 * @example
 * const devnet = useDevnet({ isolate: true })
 * const client = createPublicClient({ transport: http(devnet.rpcUrl) })
 * @throws {Error} when globalSetup provided no devnet (e.g. the test runs outside this vitest config)
 */
export function useDevnet(options: UseDevnetOptions = {}): DevnetFixtures {
  const devnets = inject('devnets')
  if (!devnets?.length) {
    throw new Error(
      'No devnet was provided: run tests through vitest with test/globalSetup.ts as globalSetup.',
    )
  }
  // VITEST_POOL_ID is 1…maxWorkers in vitest 4 (forks and threads pools).
  const poolId = Number.parseInt(process.env.VITEST_POOL_ID ?? '1', 10)
  const index = (Number.isInteger(poolId) && poolId > 0 ? poolId - 1 : 0) % devnets.length
  const devnet = devnets[index] as DevnetFixtures
  if (options.isolate) {
    let snapshot: string | undefined
    beforeAll(async () => {
      ;[snapshot] = (await jsonRpc(devnet.rpcUrl, [{ method: 'evm_snapshot' }])) as [string]
    })
    afterAll(async () => {
      if (snapshot !== undefined) await jsonRpc(devnet.rpcUrl, [{ method: 'evm_revert', params: [snapshot] }])
    })
  }
  return devnet
}
