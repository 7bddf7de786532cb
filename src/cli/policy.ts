import { dirname, resolve } from 'node:path'
import { InvalidInputError } from '../errors/index.js'
import { createPolicySource } from '../policy/loadPolicy.js'
import type { CliOptions } from './options.js'

/**
 * `airlock policy check [FILE]`: validates a policy file (or the config's `policy`) the way the gateway will, and
 * prints its hash and rules; a bad field is named, with the exit code 2. Nothing is started or changed.
 *
 * @example airlock policy check policy.json
 */
export async function policy(options: CliOptions): Promise<number> {
  const [sub, file] = options.args
  if (sub !== 'check')
    throw new InvalidInputError('Use `airlock policy check [FILE]` (without FILE: the config’s policy).')
  const value = file ? resolve(file) : options.config.policy
  const lines: string[] = []
  const source = createPolicySource({
    value,
    configDir: options.configPath ? dirname(resolve(options.configPath)) : undefined,
    fallback: () => undefined,
    log: (line) => lines.push(line),
    watch: false,
  })
  const compiled = source.current()
  source.close()
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
        ? JSON.stringify({ hash: compiled.policyHash, rules }, null, 2)
        : [
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
