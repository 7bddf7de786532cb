import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { serveStdio } from '@modelcontextprotocol/server/stdio'
import type { Caller } from '../context/caller.js'
import { InvalidConfigError } from '../errors/index.js'
import { agentCaller } from '../identity/passportRegistry.js'
import { authSettings } from '../server/config.js'
import type { Gateway } from '../server/createGateway.js'
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
  const caller = await stdioCaller(booted.gateway, options, log)
  const handle = serveStdio(
    createMcpServerFactory(booted.gateway, { transport: 'stdio', codec, ...(caller ? { caller } : {}) }),
  )
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

/**
 * With `auth.stdioPassport` in the config, stdio acts as that agent: its passport is read at start and verified
 * (signature, issuer, grant, status) on every tool call, so a revocation stops it within the status cache time.
 * Without it, stdio is the local operator.
 */
async function stdioCaller(
  gateway: Gateway,
  options: CliOptions,
  log: (line: string) => void,
): Promise<(() => Promise<Caller>) | undefined> {
  const file = authSettings(options.config).stdioPassport
  if (!file) return undefined
  const path = options.configPath ? resolve(dirname(options.configPath), file) : resolve(file)
  let passport: string
  try {
    passport = readFileSync(path, 'utf8').trim()
  } catch (error) {
    throw new InvalidConfigError(
      `Cannot read the stdio passport ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      { field: 'auth.stdioPassport' },
    )
  }
  if (!gateway.operator)
    throw new InvalidConfigError(
      '"auth.stdioPassport" needs the store (a wallet or the devnet): passports live there.',
      {
        field: 'auth.stdioPassport',
      },
    )
  const registry = (await gateway.operator).passports
  const first = await registry.verify(passport)
  log(`stdio acts as agent ${first.agent} (passport ${first.id})`)
  return async () => agentCaller(await registry.verify(passport))
}
