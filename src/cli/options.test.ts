import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseCli } from './options.js'

const dir = mkdtempSync(join(tmpdir(), 'airlock-options-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('--tools', () => {
  const config = join(dir, 'airlock.json')
  writeFileSync(config, JSON.stringify({ devnet: true, tools: ['write'] }))

  it('serves every toolset by default and the config file’s `tools` when set', () => {
    expect(parseCli(['start'], {}).config.tools).toBeUndefined()
    expect(parseCli(['stdio', '--config', config], {}).config.tools).toEqual(['write'])
  })

  it('overrides the config file', () => {
    expect(parseCli(['stdio', '--config', config, '--tools', 'read'], {}).config.tools).toEqual(['read'])
    expect(parseCli(['start', '--tools', 'read,write'], {}).config.tools).toEqual(['read', 'write'])
  })

  it('refuses an unknown toolset, naming the accepted ones', () => {
    expect(() => parseCli(['start', '--tools', 'read,admin'], {})).toThrow(
      '--tools: unknown toolset "admin" (accepted: read, write, payments, orders, solana).',
    )
  })
})

describe('passport flags', () => {
  it('`passport grant --tools` lists granted tool names, not toolsets', () => {
    const options = parseCli(
      ['passport', 'grant', '--tools', 'get_balance,transfer', '--code-hash', 'sha256:x', '--user-key-stdin'],
      {},
    )
    expect(options).toMatchObject({
      toolNames: 'get_balance,transfer',
      codeHash: 'sha256:x',
      userKeyStdin: true,
    })
    expect(options.config.tools).toBeUndefined()
    expect(parseCli(['start', '--tools', 'read'], {}).toolNames).toBeUndefined()
  })

  it('refuses a private key as an argument without repeating it', () => {
    expect(() => parseCli(['passport', 'grant', '--private-key', '0xabc'], {})).toThrow(
      /^Private keys are never taken as command-line arguments\.\n/,
    )
  })
})
