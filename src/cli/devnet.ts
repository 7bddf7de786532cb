import { startDevnet } from '../devnet/startDevnet.js'
import { onShutdown } from './boot.js'
import type { CliOptions } from './options.js'

/** `airlock devnet`: the embedded devnet alone; `--json` prints the fixtures as JSON on stdout. */
export async function devnet(options: CliOptions): Promise<number> {
  const started = await startDevnet({
    ...(options.devnetPort ? { port: options.devnetPort } : {}),
    ...(typeof options.config.devnet === 'object' && options.config.devnet.chainId
      ? { chainId: options.config.devnet.chainId }
      : {}),
  })
  onShutdown(() => started.stop())
  if (options.json) process.stdout.write(`${JSON.stringify(started.fixtures)}\n`)
  else
    process.stdout.write(
      `Devnet running at ${started.rpcUrl} (chain id ${started.fixtures.chainId}). Fixtures:\n${JSON.stringify(started.fixtures, null, 2)}\nPress Ctrl+C to stop.\n`,
    )
  return new Promise<number>(() => {})
}
