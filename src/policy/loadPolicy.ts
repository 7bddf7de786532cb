import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
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
  /** How often the file is looked at, in ms (default 500). A change is applied once it held for one interval. */
  intervalMs?: number | undefined
}

/** What a look at a changed policy file came to (see {@link PolicySource.onReload}). */
export type PolicyReload =
  /** A new valid version is in force. */
  | { outcome: 'reloaded'; policy: CompiledPolicy }
  /** The text changed but the policy did not (formatting, key order): the same policy stays in force. */
  | { outcome: 'unchanged'; policy: CompiledPolicy }
  /** The new text is invalid or unreadable: logged, and the previous policy stays in force. */
  | { outcome: 'rejected'; error: Error; policy: CompiledPolicy | undefined }

/** Where the gateway's policy comes from, and the policy in force now. */
export type PolicySource = {
  /** The policy in force, or undefined: no policy, so reads only (see {@link readOnlyDecision}). */
  current(): CompiledPolicy | undefined
  /** Calls `cb` after a new valid version is in force; returns a function that unsubscribes. */
  onChange(cb: (policy: CompiledPolicy) => void): () => void
  /**
   * Calls `cb` each time a changed file has been read, whatever came of it (see {@link PolicyReload}); returns a
   * function that unsubscribes. A file rewritten with the same bytes is not read again.
   */
  onReload(cb: (event: PolicyReload) => void): () => void
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
 * The file is watched by reading it every `intervalMs` and comparing a hash of its bytes, not by file events or
 * timestamps: events can be missed or doubled under load, and two writes within one timestamp tick look alike. A
 * change is applied once the file has held still for one interval (an editor may be halfway through writing it),
 * and a change made between the start and the first look is seen too, because the first look compares with the
 * bytes the start read.
 *
 * @example
 * const source = createPolicySource({ value: config.policy, configDir, fallback: () => undefined, log: console.error })
 * const decision = source.current() ? evaluatePolicy(source.current()!, facts) : readOnlyDecision(facts)
 * @throws {InvalidConfigError} the policy (inline, file or fallback) is invalid or the file cannot be read at start
 */
export function createPolicySource(parameters: CreatePolicySourceParameters): PolicySource {
  const { value, log } = parameters
  const listeners = new Set<(policy: CompiledPolicy) => void>()
  const reloadListeners = new Set<(event: PolicyReload) => void>()
  let policy: CompiledPolicy | undefined
  let path: string | undefined
  let timer: NodeJS.Timeout | undefined

  if (typeof value === 'string') {
    path = isAbsolute(value) ? value : resolve(parameters.configDir ?? process.cwd(), value)
    const text = readPolicyText(path)
    policy = compilePolicy(parsePolicyText(text, path))
    log(
      `policy: loaded ${path} (${policy.policy.rules.length} rules, hash ${policy.policyHash.slice(0, 12)})`,
    )
    if (parameters.watch ?? true) timer = watchPolicyFile(path, digest(text), parameters.intervalMs ?? 500)
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

  /** Polls the file; `applied` is the digest of the bytes the policy in force (or the last rejection) came from. */
  function watchPolicyFile(file: string, applied: string, interval: number): NodeJS.Timeout {
    let seen = applied
    let looking = false
    const look = async () => {
      if (looking) return
      looking = true
      try {
        const snapshot = await readSnapshot(file)
        if (timer === undefined) return // closed while reading
        if (snapshot.digest !== seen) {
          seen = snapshot.digest // changed since the last look: apply it once it holds still for one interval
          return
        }
        if (snapshot.digest === applied) return
        applied = snapshot.digest
        apply(file, snapshot)
      } finally {
        looking = false
      }
    }
    const handle = setInterval(() => void look(), interval)
    handle.unref()
    return handle
  }

  function apply(file: string, snapshot: Snapshot): void {
    let event: PolicyReload
    try {
      if (snapshot.text === undefined) throw unreadablePolicy(file, snapshot.code)
      const next = compilePolicy(parsePolicyText(snapshot.text, file))
      if (next.policyHash === policy?.policyHash) event = { outcome: 'unchanged', policy: next }
      else {
        policy = next
        event = { outcome: 'reloaded', policy: next }
        log(
          `policy: reloaded ${file} (${next.policy.rules.length} rules, hash ${next.policyHash.slice(0, 12)})`,
        )
        notify(listeners, next)
      }
    } catch (error) {
      const why = error instanceof InvalidConfigError ? error.shortMessage : String(error)
      log(`policy: ${why} The previous policy (hash ${policy?.policyHash.slice(0, 12)}) stays in force.`)
      event = { outcome: 'rejected', error: error as Error, policy }
    }
    notify(reloadListeners, event)
  }

  function notify<T>(set: Set<(value: T) => void>, value: T): void {
    for (const cb of set) {
      try {
        cb(value)
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
    onReload(cb) {
      reloadListeners.add(cb)
      return () => reloadListeners.delete(cb)
    },
    close() {
      if (timer) clearInterval(timer)
      timer = undefined
      listeners.clear()
      reloadListeners.clear()
    },
    path,
  }
}

/** The policy file's bytes as last looked at: the text, or why it could not be read. */
type Snapshot = { digest: string; text?: string; code?: string }

async function readSnapshot(file: string): Promise<Snapshot> {
  try {
    const text = await readFile(file, 'utf8')
    return { digest: digest(text), text }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    return { digest: `unreadable:${code}`, code }
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * Reads and validates a policy file.
 *
 * @example readPolicyFile('/etc/airlock/policy.json').rules.length
 * @throws {InvalidConfigError} unreadable file, bad JSON, or a bad field (named by its path)
 */
export function readPolicyFile(path: string): Policy {
  return parsePolicyText(readPolicyText(path), path)
}

function readPolicyText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw unreadablePolicy(path, (error as NodeJS.ErrnoException).code)
  }
}

function unreadablePolicy(path: string, code: string | undefined): InvalidConfigError {
  return new InvalidConfigError(`Cannot read the policy file ${path}: ${code ?? 'error'}.`, {
    field: 'policy',
    metaMessages: ['Check the `policy` path in the config (relative to the config file).'],
  })
}

function parsePolicyText(text: string, path: string): Policy {
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
