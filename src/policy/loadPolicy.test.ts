import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { InvalidConfigError } from '../errors/index.js'
import { type CompiledPolicy, compilePolicy } from './compilePolicy.js'
import { evaluatePolicy } from './evaluate.js'
import { createPolicySource, type PolicySource, readOnlyDecision, readOnlyPolicy } from './loadPolicy.js'

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

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
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

    writeFileSync(file, JSON.stringify(policy('second-version')))
    await until(() => ids(source!.current())?.[0] === 'second-version')
    expect(changes).toEqual(['second-version'])
    expect(source.current()!.policyHash).not.toBe(firstHash)
    expect(lines.at(-1)).toMatch(/^policy: reloaded .*policy\.json/)

    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        rules: [
          { id: 'third', effect: 'allow', match: { to: ['0xD8dA6BF26964aF9D7eEd9e10e89A5ED2D02C1F0E'] } },
        ],
      }),
    )
    const checksum =
      /field "policy.rules\[0\].match.to\[0\]" — its mixed-case EIP-55 checksum is wrong.*stays in force/
    await until(() => lines.some((l) => checksum.test(l)))
    expect(ids(source.current())).toEqual(['second-version'])

    writeFileSync(file, '{ "version": 1, ')
    await until(() => lines.some((l) => /not valid JSON.*stays in force/.test(l)))
    expect(ids(source.current())).toEqual(['second-version'])
    expect(changes).toEqual(['second-version'])
  })

  test('close() stops watching', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify(policy('first')))
    source = createPolicySource({ value: file, fallback: () => undefined, log: () => {}, intervalMs: 20 })
    source.close()
    writeFileSync(file, JSON.stringify(policy('second')))
    await new Promise((r) => setTimeout(r, 150))
    expect(ids(source.current())).toEqual(['first'])
  })
})
