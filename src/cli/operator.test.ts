import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { tempDir } from '../../test/tempDir.js'
import { createAuditLog } from '../audit/auditLog.js'
import { createApprovals } from '../policy/approvals.js'
import { openStore } from '../store/openStore.js'
import { seedDataDir } from '../store/useTestStore.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import { operator } from './operator.js'
import { parseCli } from './options.js'

// The operator commands with no gateway running: the CLI serves the admin app in process over the data
// directory's store, and prints what it printed before. (With a gateway: test/guardrailsCli.test.ts.)
let dataDir: string
let env: Record<string, string | undefined>
let held: { id: string; hash: string }
const seven = '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955'

beforeAll(async () => {
  dataDir = tempDir('operator-cli')
  seedDataDir(dataDir)
  env = { AIRLOCK_DATA_DIR: dataDir, USER: 'tester', PATH: process.env.PATH }
  const store = await openStore({ dataDir })
  try {
    const journal = createIntentJournal(store)
    const { intent } = await journal.create({
      chainId: 31337,
      wallet: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      operation: 'transfer',
      request: {},
    })
    await journal.transition(intent.id, 'created', 'held')
    const hash = randomBytes(32).toString('hex')
    const request = {
      summary: 'Send 0.25 ETH to a new recipient',
      simulation: { deltas: [] },
      reasons: ['new recipient'],
      ruleIds: ['new-recipient'],
      chain: 'devnet',
      operation: 'transfer',
    }
    await createApprovals(store, { audit: createAuditLog(store) }).hold(intent.id, hash, request, 600)
    held = { id: intent.id, hash }
  } finally {
    await store.close()
  }
}, 60_000)

afterEach(() => {
  vi.restoreAllMocks()
})

async function airlock(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = []
  const err: string[] = []
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk))
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk))
    return true
  })
  try {
    const code = await operator(parseCli(argv, env), env as NodeJS.ProcessEnv)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    vi.restoreAllMocks()
  }
}

describe('operator commands on a store (no gateway)', () => {
  it('list the held intent, approve it, and say that the next gateway carries it out', async () => {
    const listed = await airlock('approvals')
    expect(listed.code).toBe(0)
    expect(listed.stderr).toMatch(/no gateway running on this data directory: acting on its store directly/)
    expect(listed.stdout).toMatch(new RegExp(`^${held.id}  pending  transfer on devnet`))
    expect(listed.stdout).toMatch(/what: {3}Send 0\.25 ETH to a new recipient/)
    expect(listed.stdout).toContain(`hash:   ${held.hash}`)
    const json = await airlock('approvals', '--json')
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ intentId: held.id, status: 'pending' }),
    ])

    const approved = await airlock('approve', held.id, '--hash', held.hash)
    expect(approved.stdout).toBe(
      `Approved intent ${held.id}. The next gateway to start on this store re-simulates it and, if nothing changed, signs and sends it.\n`,
    )
    expect((await airlock('approvals')).stdout).toBe('No pending approvals.\n')
    const decided = JSON.parse((await airlock('approvals', '--status', 'approved', '--json')).stdout)
    expect(decided).toEqual([expect.objectContaining({ intentId: held.id, decidedBy: 'cli:tester' })])
  }, 60_000)

  it("refuse what the admin API refuses, with its error (the exit code comes from the error's code)", async () => {
    await expect(airlock('approvals', '--status', 'sometimes')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'status',
    })
    await expect(airlock('deny', 'int_missing')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(airlock('approve', held.id)).rejects.toMatchObject({ code: 'CONFLICT' })
  }, 60_000)

  it('engage and release the kill switch', async () => {
    const killed = await airlock('kill', '--reason', 'cli test')
    expect(killed.stdout).toMatch(
      /^Kill switch ENGAGED: nothing will be signed or sent until `.*unkill`\.\n$/,
    )
    const released = await airlock('unkill', '--json')
    expect(JSON.parse(released.stdout)).toMatchObject({ engaged: false, actor: 'cli:tester' })
  }, 60_000)

  it('stop one contract, show it in the status, and release it', async () => {
    const usdc = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'
    const ref = `8453:${usdc.toLowerCase()}`
    const stopped = await airlock('kill', '--contract', `base:${usdc}`, '--reason', 'took too much')
    expect(stopped.stdout).toMatch(
      new RegExp(`^Contract ${usdc.toLowerCase()} on chain 8453 STOPPED .*unkill --contract ${ref}\``),
    )
    const again = JSON.parse(
      (await airlock('kill', '--contract', `eip155:8453:${usdc}`, '--reason', 'again', '--json')).stdout,
    )
    expect(again).toMatchObject({ chainId: 8453, reason: 'took too much', actor: 'cli:tester' })

    const status = await airlock('status')
    expect(status.stdout).toContain(
      'Kill switch: off\nStopped contracts (writes that touch them are refused):\n',
    )
    expect(status.stdout).toMatch(
      new RegExp(`  ${ref}  by cli:tester since .*: took too much  → .*unkill --contract ${ref}\n`),
    )
    expect(status.stdout).toMatch(/Pending approvals: \d+\nPolicy: not known here/)
    const json = JSON.parse((await airlock('status', '--json')).stdout)
    expect(json.stoppedContracts).toEqual([
      expect.objectContaining({ chainId: 8453, address: usdc.toLowerCase() }),
    ])

    const released = await airlock('unkill', '--contract', `8453:${usdc.toLowerCase()}`)
    expect(released.stdout).toBe(
      `Contract ${usdc.toLowerCase()} on chain 8453 released: writes that touch it go through the policy again.\n`,
    )
    expect((await airlock('unkill', '--contract', ref)).stdout).toMatch(/was not stopped; nothing changed/)
    expect((await airlock('status')).stdout).toContain('Stopped contracts: none')
    await expect(airlock('unkill', '--contract', usdc)).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(airlock('unkill', '--contract', `nowhere:${usdc}`)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'contract',
    })
    await expect(airlock('kill', '--contract', '8453:0x1234')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'address',
    })
  }, 60_000)

  it('stop one agent, show it in the status, and release it', async () => {
    const agent = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
    const stopped = await airlock('kill', '--agent', agent, '--reason', 'runaway loop')
    expect(stopped.stdout).toMatch(
      new RegExp(
        `^Agent ${agent} STOPPED \\(since .*\\): none of its writes will be signed until \`.*unkill --agent ${agent}\`\\.`,
      ),
    )
    const status = await airlock('status')
    expect(status.stdout).toContain('Stopped agents (none of their writes is signed):\n')
    expect(status.stdout).toMatch(
      new RegExp(`  ${agent}  by cli:tester since .*: runaway loop  → .*unkill --agent ${agent}\n`),
    )
    expect(JSON.parse((await airlock('status', '--json')).stdout).stoppedAgents).toEqual([
      expect.objectContaining({ agent, reason: 'runaway loop', actor: 'cli:tester' }),
    ])
    expect((await airlock('unkill', '--agent', agent)).stdout).toMatch(/^Agent .* released/)
    expect((await airlock('unkill', '--agent', agent)).stdout).toMatch(/was not stopped; nothing changed/)
    expect((await airlock('status')).stdout).toContain('Stopped agents: none')
    await expect(airlock('kill', '--agent', '0x1234')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'agent',
    })
    await expect(airlock('kill', '--agent', agent, '--contract', '8453:0x1234')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    })
  }, 60_000)

  it('keep the address book', async () => {
    expect((await airlock('address-book', 'add', seven, '--label', 'seven')).stdout).toBe(
      `Added ${seven} as "seven".\n`,
    )
    expect((await airlock('address-book')).stdout).toBe(`${seven}  seven  (added by cli:tester)\n`)
    expect((await airlock('address-book', 'remove', seven)).stdout).toBe(`Removed ${seven}.\n`)
    expect((await airlock('address-book', 'list')).stdout).toBe('The address book is empty.\n')
  }, 60_000)

  it('export the audit log with its head, and verify against that head', async () => {
    const file = join(dataDir, 'audit.jsonl')
    const exported = await airlock('audit', 'export', '--out', file)
    expect(existsSync(file)).toBe(true)
    const [, head] = /audit head (\d+:[0-9a-f]{64})/.exec(exported.stderr) ?? []
    expect(head).toBeDefined()
    expect(exported.stderr).toMatch(/exported \d+ audit entries to /)
    const verified = await airlock('audit', 'verify', '--head', head!)
    expect(verified.code).toBe(0)
    expect(verified.stdout).toMatch(
      new RegExp(
        `^Audit log intact: \\d+ entries, head .*\\. It still holds the head you kept \\(entry ${head!.split(':')[0]}\\)\\.\\n$`,
      ),
    )
  }, 60_000)
})
