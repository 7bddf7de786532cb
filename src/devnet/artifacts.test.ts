import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { artifactsFile, computeSourceHash, guardFile, solidityFiles } from '../../scripts/sourceHash.mjs'
import { devnetArtifacts } from './artifacts.js'

describe('contracts/artifacts.json', () => {
  it('matches the Solidity sources, compiler settings and package versions (else run `npm run contracts`)', () => {
    const committed = JSON.parse(readFileSync(artifactsFile, 'utf8')) as { sourceHash: string }
    expect(
      committed.sourceHash,
      'stale contracts/artifacts.json: run `npm run contracts` and commit it',
    ).toBe(computeSourceHash())
  })

  it('holds creation bytecode and an ABI for every contract the devnet deploys', () => {
    const contracts = Object.entries(devnetArtifacts.contracts)
    expect(contracts.length).toBeGreaterThanOrEqual(18)
    for (const [name, { abi, bytecode }] of contracts) {
      expect(bytecode, name).toMatch(/^0x(?:[0-9a-f]{2})+$/i)
      expect(Array.isArray(abi), name).toBe(true)
    }
    // Every contract defined in contracts/*.sol is present.
    for (const file of solidityFiles()) {
      const source = readFileSync(new URL(`../../contracts/${file}`, import.meta.url), 'utf8')
      for (const [, name] of source.matchAll(/^contract (\w+)/gm)) {
        expect(Object.keys(devnetArtifacts.contracts), file).toContain(name)
      }
    }
  })

  it('contracts/guard.json is the AirlockGuard artifact of the same build (else run `npm run contracts`)', () => {
    const guard = JSON.parse(readFileSync(guardFile, 'utf8')) as Record<string, unknown>
    const committed = JSON.parse(readFileSync(artifactsFile, 'utf8')) as {
      sourceHash: string
      contracts: Record<string, unknown>
    }
    expect(guard).toEqual({
      sourceHash: committed.sourceHash,
      ...(committed.contracts.AirlockGuard as object),
    })
  })
})
