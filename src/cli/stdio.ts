import { serveStdio } from '@modelcontextprotocol/server/stdio'
import { approvalCodec, createMcpServerFactory } from '../server/mcpServer.js'
import { boot, onShutdown } from './boot.js'
import type { CliOptions } from './options.js'

/**
 * `airlock stdio`: MCP over stdin/stdout, for 2026-07-28 clients and 2025-era ones alike (the opening message picks
 * the era). Nothing but protocol is written to stdout; logs go to stderr.
 */
export async function stdio(options: CliOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const log = (line: string) => process.stderr.write(`airlock: ${line}\n`)
  if (options.devnet && !options.configPath) log('no config file: demo mode on the embedded devnet')
  const booted = await boot(options, env, log)
  const codec = await approvalCodec(booted.gateway)
  const handle = serveStdio(createMcpServerFactory(booted.gateway, { transport: 'stdio', codec }))
  const stop = async () => {
    await handle.close()
    await booted.stop()
  }
  onShutdown(stop)
  return new Promise<number>((resolve) => {
    // The client closing stdin ends the connection.
    process.stdin.once('end', () => {
      void stop().then(() => resolve(0))
    })
  })
}
