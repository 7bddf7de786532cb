import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { createMcpServer } from '../server/createMcpServer.js'
import { boot, onShutdown } from './boot.js'
import type { CliOptions } from './options.js'

/** `airlock stdio`: MCP over stdin/stdout. Nothing but protocol is written to stdout; logs go to stderr. */
export async function stdio(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const log = (line: string) => process.stderr.write(`airlock: ${line}\n`)
  if (options.devnet && !options.configPath) log('no config file: demo mode on the embedded devnet')
  const booted = await boot(options, env, log)
  const server = createMcpServer(booted.gateway, { kind: 'local', transport: 'stdio' })
  const stop = async () => {
    await server.close()
    await booted.stop()
  }
  onShutdown(stop)
  await server.connect(new StdioServerTransport())
  return new Promise<number>((resolve) => {
    // The client closing stdin ends the session.
    process.stdin.once('end', () => {
      void stop().then(() => resolve(0))
    })
  })
}
