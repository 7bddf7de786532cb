import { mkdtempSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { InvalidConfigError } from '../errors/index.js'
import { type CompiledPolicy, compilePolicy } from './compilePolicy.js'
import { evaluatePolicy } from './evaluate.js'
import {
  createPolicySource,
  type PolicyReload,
  type PolicySource,
  readOnlyDecision,
  readOnlyPolicy,
} from './loadPolicy.js'

const policy = (id: string) => ({
  version: 1,
  rules: [{ id, effect: 'allow', match: { operation: ['transfer'] } }],
})
const ids = (p: CompiledPolicy | undefined) => p?.policy.rules.map((r) => r.id)

let dir: string | undefined
let source: PolicySource | undefined
afterEach(() => {
  source?.close()
  source = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

/** The outcome of the next look at a changed file; subscribe before changing the file. */
function nextReload(s: PolicySource): Promise<PolicyReload> {
  return new Promise((resolve) => {
    const off = s.onReload((event) => {
      off()
      resolve(event)
    })
  })
}

describe('createPolicySource', () => {
  test('inline object', () => {
    const lines: string[] = []
    source = createPolicySource({
      value: policy('inline'),
      fallback: () => undefined,
      log: (l) => lines.push(l),
    })
    expect(ids(source.current())).toEqual(['inline'])
    expect(lines[0]).toMatch(/^policy: inline \(1 rules, hash [0-9a-f]{12}\)$/)
  })

  test('no policy and no fallback: current() is undefined (reads only)', () => {
    source = createPolicySource({ value: undefined, fallback: () => undefined, log: () => {} })
    expect(source.current()).toBeUndefined()
    const facts = {
      operation: 'transfer' as const,
      chain: 'base',
      chainId: 8453,
      wallet: '0x1111111111111111111111111111111111111111' as const,
      agent: 'local',
      functions: [],
      value: { raw: 0n, decimals: 18 },
      addressBookListed: false,
      outflows: [],
      now: new Date(0),
    }
    const d = readOnlyDecision(facts)
    expect(d).toMatchObject({ effect: 'deny', ruleIds: [], limits: [], policyHash: 'none' })
    expect(d.reasons[0]).toMatch(/no policy is configured, so this gateway allows reads only/)
    expect(evaluatePolicy(compilePolicy(readOnlyPolicy), facts).effect).toBe('deny')
  })

  test('the fallback is used when the config has no policy', () => {
    source = createPolicySource({ value: undefined, fallback: () => policy('demo') as never, log: () => {} })
    expect(ids(source.current())).toEqual(['demo'])
  })

  test('an invalid inline policy throws at start, naming the field', () => {
    expect(() =>
      createPolicySource({
        value: { version: 1, rules: [{ id: 'x', effect: 'allow', match: { amount: { lte: '1e3' } } }] },
        fallback: () => undefined,
        log: () => {},
      }),
    ).toThrow(/field "policy.rules\[0\].match.amount.lte"/)
  })

  test('a missing policy file throws at start', () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    expect(() =>
      createPolicySource({ value: 'nope.json', configDir: dir, fallback: () => undefined, log: () => {} }),
    ).toThrow(InvalidConfigError)
  })

  test('a file is re-read when it changes; an invalid version is logged and the last valid one stays', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify(policy('first')))
    const lines: string[] = []
    const changes: string[] = []
    source = createPolicySource({
      value: 'policy.json',
      configDir: dir,
      fallback: () => undefined,
      log: (l) => lines.push(l),
      intervalMs: 20,
    })
    source.onChange((p) => changes.push(p.policy.rules[0]!.id))
    expect(source.path).toBe(file)
    expect(ids(source.current())).toEqual(['first'])
    const firstHash = source.current()!.policyHash

    // Written before the first look: seen all the same (the first look compares with what the start read).
    let reload = nextReload(source)
    writeFileSync(file, JSON.stringify(policy('second-version')))
    expect(await reload).toMatchObject({ outcome: 'reloaded' })
    expect(ids(source.current())).toEqual(['second-version'])
    expect(changes).toEqual(['second-version'])
    expect(source.current()!.policyHash).not.toBe(firstHash)
    expect(lines.at(-1)).toMatch(/^policy: reloaded .*policy\.json/)

    reload = nextReload(source)
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        rules: [
          { id: 'third', effect: 'allow', match: { to: ['0xD8dA6BF26964aF9D7eEd9e10e89A5ED2D02C1F0E'] } },
        ],
      }),
    )
    expect(await reload).toMatchObject({ outcome: 'rejected', error: expect.any(InvalidConfigError) })
    expect(lines.at(-1)).toMatch(
      /field "policy.rules\[0\].match.to\[0\]" — its mixed-case EIP-55 checksum is wrong.*stays in force/,
    )
    expect(ids(source.current())).toEqual(['second-version'])

    reload = nextReload(source)
    writeFileSync(file, '{ "version": 1, ')
    expect(await reload).toMatchObject({ outcome: 'rejected' })
    expect(lines.at(-1)).toMatch(/not valid JSON.*stays in force/)
    expect(ids(source.current())).toEqual(['second-version'])

    // Deleted, then back: the deletion is logged, the policy stays; the file back in place is in force.
    reload = nextReload(source)
    unlinkSync(file)
    expect(await reload).toMatchObject({ outcome: 'rejected' })
    expect(lines.at(-1)).toMatch(/Cannot read the policy file .*ENOENT.*stays in force/)
    reload = nextReload(source)
    writeFileSync(file, JSON.stringify(policy('fourth')))
    expect(await reload).toMatchObject({ outcome: 'reloaded' })
    expect(ids(source.current())).toEqual(['fourth'])
    expect(changes).toEqual(['second-version', 'fourth'])
  })

  test('a change that keeps the size and the modification time is seen (bytes are compared, not timestamps)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify(policy('aaaa')))
    const { atime, mtime } = statSync(file)
    source = createPolicySource({ value: file, fallback: () => undefined, log: () => {}, intervalMs: 20 })
    const reload = nextReload(source)
    // Two saves within one timestamp tick look like this: same size, same mtime, other bytes.
    writeFileSync(file, JSON.stringify(policy('bbbb')))
    utimesSync(file, atime, mtime)
    expect(await reload).toMatchObject({ outcome: 'reloaded' })
    expect(ids(source.current())).toEqual(['bbbb'])
  })

  test('the same bytes written again are not re-read; another text of the same policy is "unchanged"', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify(policy('same')))
    const lines: string[] = []
    const changes: unknown[] = []
    source = createPolicySource({
      value: file,
      fallback: () => undefined,
      log: (l) => lines.push(l),
      intervalMs: 20,
    })
    source.onChange((p) => changes.push(p))
    const hash = source.current()!.policyHash
    const events: PolicyReload[] = []
    source.onReload((e) => events.push(e))
    const reload = nextReload(source)
    writeFileSync(file, JSON.stringify(policy('same')))
    writeFileSync(file, JSON.stringify(policy('same'), null, 2))
    // The first event is the reformatted text's: the rewrite with the same bytes made none.
    expect(await reload).toMatchObject({ outcome: 'unchanged', policy: { policyHash: hash } })
    expect(events).toHaveLength(1)
    expect(changes).toEqual([])
    expect(lines).toHaveLength(1) // only "loaded"
  })

  test('close() stops watching', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify(policy('first')))
    const closed = createPolicySource({
      value: file,
      fallback: () => undefined,
      log: () => {},
      intervalMs: 20,
    })
    closed.close()
    // A second source on the same file, same interval: once it has seen two changes, so would the first have.
    source = createPolicySource({ value: file, fallback: () => undefined, log: () => {}, intervalMs: 20 })
    const reload = nextReload(source)
    writeFileSync(file, JSON.stringify(policy('second')))
    expect(await reload).toMatchObject({ outcome: 'reloaded' })
    const second = nextReload(source)
    writeFileSync(file, JSON.stringify(policy('third')))
    await second
    expect(ids(closed.current())).toEqual(['first'])
  })
})
