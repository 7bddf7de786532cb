import { readFileSync, type Stats, unwatchFile, watchFile } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { InvalidConfigError } from '../errors/index.js'
import { type CompiledPolicy, compilePolicy } from './compilePolicy.js'
import { type Policy, parsePolicy } from './policySchema.js'
import type { PolicyDecision, PolicyFacts } from './types.js'

/** Options of {@link createPolicySource}. */
export type CreatePolicySourceParameters = {
  /** The config's `policy`: an inline object, a path to a JSON file (relative to `configDir`), or undefined. */
  value: unknown
  /** Directory a relative policy path is resolved against (the config file's); default: the working directory. */
  configDir?: string | undefined
  /** The policy to use when the config has none (the demo policy on the devnet), or undefined for none. */
  fallback: () => Policy | undefined
  /** One line per event: loaded, reloaded, an invalid new version kept out. Never contains secrets. */
  log: (line: string) => void
  /** Re-read a policy file when it changes (default true; inline and fallback policies never change). */
  watch?: boolean | undefined
  /** How often the file's stat is polled, in ms (default 500). */
  intervalMs?: number | undefined
}

/** Where the gateway's policy comes from, and the policy in force now. */
export type PolicySource = {
  /** The policy in force, or undefined: no policy, so reads only (see {@link readOnlyDecision}). */
  current(): CompiledPolicy | undefined
  /** Calls `cb` after a new valid version is in force; returns a function that unsubscribes. */
  onChange(cb: (policy: CompiledPolicy) => void): () => void
  /** Stops watching the file. */
  close(): void
  /** The file the policy is read from, when it is one. */
  path: string | undefined
}

/**
 * The policy in force, from the config: inline, a JSON file (re-read when it changes), or the fallback.
 *
 * A policy that is invalid at start throws, so a gateway never starts with a policy other than the one the operator
 * wrote. A file that later changes into something invalid (bad JSON, a bad field, a missing file) is logged with the
 * field's error and the last valid version stays in force: a typo while editing never opens or closes the gate.
 *
 * @example
 * const source = createPolicySource({ value: config.policy, configDir, fallback: () => undefined, log: console.error })
 * const decision = source.current() ? evaluatePolicy(source.current()!, facts) : readOnlyDecision(facts)
 * @throws {InvalidConfigError} the policy (inline, file or fallback) is invalid or the file cannot be read at start
 */
export function createPolicySource(parameters: CreatePolicySourceParameters): PolicySource {
  const { value, log } = parameters
  const listeners = new Set<(policy: CompiledPolicy) => void>()
  let policy: CompiledPolicy | undefined
  let path: string | undefined
  let watching = false
  let settle: NodeJS.Timeout | undefined

  if (typeof value === 'string') {
    path = isAbsolute(value) ? value : resolve(parameters.configDir ?? process.cwd(), value)
    policy = compilePolicy(readPolicyFile(path))
    log(
      `policy: loaded ${path} (${policy.policy.rules.length} rules, hash ${policy.policyHash.slice(0, 12)})`,
    )
    if (parameters.watch ?? true) {
      const file = path
      const interval = parameters.intervalMs ?? 500
      watchFile(file, { interval, persistent: false }, (now: Stats, before: Stats) => {
        if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return
        // An editor may be halfway through writing: read once the file has been quiet for a moment.
        if (settle) clearTimeout(settle)
        settle = setTimeout(() => {
          settle = undefined
          reload(file)
        }, interval)
        settle.unref()
      })
      watching = true
    }
  } else if (value !== undefined) {
    policy = compilePolicy(parsePolicy(value, 'policy in the config'))
    log(`policy: inline (${policy.policy.rules.length} rules, hash ${policy.policyHash.slice(0, 12)})`)
  } else {
    const fallback = parameters.fallback()
    if (fallback) {
      policy = compilePolicy(parsePolicy(fallback, 'built-in policy'))
      log(`policy: built-in (${policy.policy.rules.length} rules, hash ${policy.policyHash.slice(0, 12)})`)
    } else log('policy: none configured; the gateway serves reads only and denies every write')
  }

  function reload(file: string): void {
    let next: CompiledPolicy
    try {
      next = compilePolicy(readPolicyFile(file))
    } catch (error) {
      const why = error instanceof InvalidConfigError ? error.shortMessage : String(error)
      log(`policy: ${why} The previous policy (hash ${policy?.policyHash.slice(0, 12)}) stays in force.`)
      return
    }
    if (next.policyHash === policy?.policyHash) return
    policy = next
    log(`policy: reloaded ${file} (${next.policy.rules.length} rules, hash ${next.policyHash.slice(0, 12)})`)
    for (const cb of listeners) {
      try {
        cb(next)
      } catch (error) {
        log(`policy: a change listener failed: ${(error as Error).message}`)
      }
    }
  }

  return {
    current: () => policy,
    onChange(cb) {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
    close() {
      if (watching && path) unwatchFile(path)
      if (settle) clearTimeout(settle)
      watching = false
      listeners.clear()
    },
    path,
  }
}

/**
 * Reads and validates a policy file.
 *
 * @example readPolicyFile('/etc/airlock/policy.json').rules.length
 * @throws {InvalidConfigError} unreadable file, bad JSON, or a bad field (named by its path)
 */
export function readPolicyFile(path: string): Policy {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new InvalidConfigError(
      `Cannot read the policy file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      {
        field: 'policy',
        metaMessages: ['Check the `policy` path in the config (relative to the config file).'],
      },
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new InvalidConfigError(`The policy file ${path} is not valid JSON: ${(error as Error).message}.`, {
      field: 'policy',
    })
  }
  return parsePolicy(json, `policy file ${path}`)
}

/**
 * The decision when no policy is configured: the gateway is read-only. Read tools work as always; every write
 * (transfer, approve, write_contract, swap, sign_typed_data, pay) is denied, naming how to enable writes. Nothing
 * is reserved and no rule is named; `policyHash` is `none`.
 *
 * @example const decision = source.current() ? evaluatePolicy(source.current()!, facts) : readOnlyDecision(facts)
 */
export function readOnlyDecision(facts: Pick<PolicyFacts, 'operation' | 'chain'>): PolicyDecision {
  return {
    effect: 'deny',
    ruleIds: [],
    reasons: [
      `no policy is configured, so this gateway allows reads only (this ${facts.operation} on ${facts.chain} is a write); the operator can add a \`policy\` to the config to allow writes`,
    ],
    limits: [],
    policyHash: readOnlyPolicyHash,
  }
}

/** `policyHash` of decisions made with no policy: {@link readOnlyDecision}. */
export const readOnlyPolicyHash = 'none'

/**
 * What "no policy" means, as a policy: no rules, so every write is denied by default, while read tools, which never
 * reach the policy, keep working. A gateway with no `policy` in its config (and no built-in fallback) runs this way;
 * {@link PolicySource.current} then returns undefined and the pipeline answers writes with {@link readOnlyDecision},
 * whose reason tells the agent that the gateway is read-only and how the operator enables writes.
 *
 * @example evaluatePolicy(compilePolicy(readOnlyPolicy), facts).effect // 'deny'
 */
export const readOnlyPolicy: Policy = { version: 1, rules: [] }
