import type { DevnetFixtures } from '../devnet/fixtures.js'
import { createGateway, type Gateway } from '../server/createGateway.js'
import type { CliOptions } from './options.js'

/** A gateway plus whatever it started (the devnet), and one way to stop both. */
export type Booted = { gateway: Gateway; fixtures: DevnetFixtures | undefined; stop(): Promise<void> }

/**
 * Starts the devnet when the options ask for it, then the gateway core. Logs go to `log` (stderr), never stdout.
 * The devnet module is imported only in devnet mode.
 */
export async function boot(
  options: CliOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Booted> {
  let stopDevnet = async () => {}
  let fixtures: DevnetFixtures | undefined
  if (options.devnet) {
    const { startDevnet } = await import('../devnet/startDevnet.js')
    const started = Date.now()
    const devnet = await startDevnet({
      ...(options.devnetPort ? { port: options.devnetPort } : {}),
      ...(typeof options.config.devnet === 'object' && options.config.devnet.chainId
        ? { chainId: options.config.devnet.chainId }
        : {}),
    })
    fixtures = devnet.fixtures
    stopDevnet = () => devnet.stop()
    log(
      `devnet: chain id ${devnet.fixtures.chainId} at ${devnet.fixtures.rpcUrl}, fixtures deployed in ${Date.now() - started} ms`,
    )
  }
  const gateway = createGateway({ config: options.config, devnet: fixtures, env })
  return {
    gateway,
    fixtures,
    async stop() {
      gateway.close()
      await stopDevnet()
    },
  }
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
}
