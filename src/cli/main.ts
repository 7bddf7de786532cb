#!/usr/bin/env -S node --max-semi-space-size=1
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BaseError, toBaseError } from '../errors/index.js'
import { parseCli, usage } from './options.js'

/**
 * The `airlock` command. Heavy modules load only for the command that needs them, so `stdio` answers fast.
 * @example airlock start --port 8402
 */
export async function main(argv: readonly string[], env = process.env): Promise<number> {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write('airlock 0.1.0\n')
    return 0
  }
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage)
    return 0
  }
  const options = parseCli(argv, env)
  switch (options.command) {
    case 'start':
      return (await import('./start.js')).start(options, env)
    case 'stdio':
      return (await import('./stdio.js')).stdio(options, env)
    case 'devnet':
      return (await import('./devnet.js')).devnet(options)
    case 'wallet':
      return (await import('./wallet.js')).wallet(options, env)
    case 'policy':
      return (await import('./policy.js')).policy(options)
    case 'passport':
      return (await import('./passport.js')).passport(options, env)
    case 'status':
    case 'approvals':
    case 'approve':
    case 'deny':
    case 'kill':
    case 'unkill':
    case 'audit':
    case 'address-book':
    case 'payments':
    case 'orders':
      return (await import('./operator.js')).operator(options, env)
    default:
      throw new BaseError('INVALID_INPUT', `Unknown command "${options.command.slice(0, 40)}".`, {
        metaMessages: [
          'Commands: start, stdio, devnet, wallet, policy, passport, status, approvals, approve, deny, kill, unkill, audit, address-book, payments, orders, help.',
        ],
      })
  }
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0) process.exitCode = code
    },
    (error: unknown) => {
      const e = toBaseError(error)
      process.stderr.write(`airlock: ${e.message}\n`)
      process.exitCode = e.code === 'INVALID_CONFIG' || e.code === 'INVALID_INPUT' ? 2 : 1
    },
  )
}
