import { dirname, resolve } from 'node:path'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import { InvalidInputError } from '../errors/index.js'
import { demoPolicy } from '../policy/demoPolicy.js'
import { createPolicySource } from '../policy/loadPolicy.js'
import type { CliOptions } from './options.js'

/**
 * `airlock policy check [FILE]`: validates a policy file (or the config's `policy`) the way the gateway will, and
 * prints its hash and rules; a bad field is named, with the exit code 2. Nothing is changed. With no policy on the
 * devnet (demo mode, `--devnet`, `devnet` in the config) the gateway runs the demo policy, so that is what is
 * checked: over the fixtures the config attaches, or those of a devnet started for the check and stopped after it
 * (the addresses, and so the hash, are the same on every fresh devnet).
 *
 * @example airlock policy check policy.json
 */
export async function policy(options: CliOptions): Promise<number> {
  const [sub, file] = options.args
  if (sub !== 'check')
    throw new InvalidInputError('Use `airlock policy check [FILE]` (without FILE: the config’s policy).')
  const value = file ? resolve(file) : options.config.policy
  // The gateway's own choice (createGateway): the config's policy, else the demo policy wherever a devnet runs.
  const fixtures = value === undefined && options.devnet ? await demoFixtures(options) : undefined
  const solana = fixtures ? await demoSolanaFixtures(options) : undefined
  const lines: string[] = []
  const source = createPolicySource({
    value,
    configDir: options.configPath ? dirname(resolve(options.configPath)) : undefined,
    fallback: () => (fixtures ? demoPolicy(fixtures, solana) : undefined),
    log: (line) => lines.push(line),
    watch: false,
  })
  const compiled = source.current()
  source.close()
  const origin = file ? 'file' : value !== undefined ? 'config' : fixtures ? 'demo' : 'none'
  if (!compiled) {
    process.stdout.write(
      `${options.json ? JSON.stringify({ policy: null }) : 'No policy configured: the gateway would allow reads only.'}\n`,
    )
    return 0
  }
  const rules = compiled.policy.rules.map((r) => ({
    id: r.id,
    effect: r.effect,
    limits: (r.limits ?? []).map((l) => l.id),
  }))
  process.stdout.write(
    `${
      options.json
        ? JSON.stringify({ source: origin, hash: compiled.policyHash, rules }, null, 2)
        : [
            ...(origin === 'demo'
              ? [
                  'No policy in the config: on the devnet the gateway runs the demo policy (README: "The demo policy"); elsewhere it allows reads only.',
                ]
              : []),
            `Policy valid: ${rules.length} rules, hash ${compiled.policyHash}.`,
            ...rules.map(
              (r) =>
                `  ${r.effect.padEnd(16)} ${r.id}${r.limits.length ? `  (limits: ${r.limits.join(', ')})` : ''}`,
            ),
          ].join('\n')
    }\n`,
  )
  return 0
}

/** The devnet fixtures the demo policy is built over: the attached ones, or a fresh devnet's (stopped at once). */
/** The Solana devnet's fixtures the demo policy names: an attached devnet's, else a fresh one's (deterministic). */
async function demoSolanaFixtures(options: CliOptions): Promise<SolanaDevnetFixtures | undefined> {
  const devnet = options.config.devnet
  if (typeof devnet === 'object' && devnet.fixtures) {
    const { readSolanaFixtures } = await import('./boot.js')
    return readSolanaFixtures(devnet.fixtures)
  }
  const { startSolanaDevnet } = await import('../devnet/solana/startSolanaDevnet.js')
  const started = await startSolanaDevnet()
  try {
    return started.fixtures
  } finally {
    await started.stop()
  }
}

async function demoFixtures(options: CliOptions): Promise<DevnetFixtures> {
  const devnet = options.config.devnet
  if (typeof devnet === 'object' && devnet.fixtures) {
    const { readFixtures } = await import('./boot.js')
    return readFixtures(devnet.fixtures)
  }
  const { startDevnet } = await import('../devnet/startDevnet.js')
  const started = await startDevnet({
    ...(typeof devnet === 'object' && devnet.chainId ? { chainId: devnet.chainId } : {}),
  })
  try {
    return started.fixtures
  } finally {
    await started.stop()
  }
}
