import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { zeroAddress } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuditLog } from '../audit/auditLog.js'
import { openStore, type Store } from '../store/openStore.js'
import { seedDataDir, testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createKillSwitch, KillSwitchEngagedError } from './killSwitch.js'

describe.each(testStoreDrivers)('kill switch on %s', (driver) => {
  const t = useTestStore(driver)

  it('is off by default, and assertOff passes', async () => {
    const kill = createKillSwitch(t.store)
    expect(await kill.state()).toMatchObject({ engaged: false, reason: null, actor: null })
    await expect(kill.assertOff()).resolves.toBeUndefined()
  })

  it('engaged, refuses with the reason and how to release it; released, passes again; both audited', async () => {
    const audit = createAuditLog(t.store)
    const kill = createKillSwitch(t.store, { audit })
    const engaged = await kill.engage('suspicious transfers from agent-7', 'operator')
    expect(engaged).toMatchObject({
      engaged: true,
      reason: 'suspicious transfers from agent-7',
      actor: 'operator',
    })
    const error = await kill.assertOff().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KillSwitchEngagedError)
    expect(error).toMatchObject({ code: 'KILL_SWITCH_ENGAGED', status: 503, state: { engaged: true } })
    expect((error as Error).message).toContain('suspicious transfers from agent-7')
    expect((error as Error).message).toContain('airlock unkill')

    const released = await kill.release('operator')
    expect(released).toMatchObject({ engaged: false, reason: null, actor: 'operator' })
    await expect(kill.assertOff()).resolves.toBeUndefined()

    const entries = await audit.read({ newestFirst: true, limit: 2 })
    expect(entries.map((e) => [e.kind, e.actor])).toEqual([
      ['kill_switch.released', 'operator'],
      ['kill_switch.engaged', 'operator'],
    ])
    expect(entries[1]?.data).toEqual({ reason: 'suspicious transfers from agent-7' })
    expect(entries[0]?.data).toMatchObject({ previousReason: 'suspicious transfers from agent-7' })
    expect((await audit.verify()).ok).toBe(true)
  })

  it('keeps the first reason when engaged again, and still audits the repeat', async () => {
    const audit = createAuditLog(t.store)
    const kill = createKillSwitch(t.store, { audit })
    await kill.engage('first reason', 'operator')
    const again = await kill.engage('second reason', 'airlock (automatic)')
    expect(again).toMatchObject({ engaged: true, reason: 'first reason', actor: 'operator' })
    const [last] = await audit.read({ newestFirst: true, limit: 1 })
    expect(last).toMatchObject({
      kind: 'kill_switch.engaged',
      actor: 'airlock (automatic)',
      data: { reason: 'second reason', alreadyEngaged: true },
    })
    await kill.release('operator')
  })

  it('refuses an empty reason or actor and changes nothing', async () => {
    const kill = createKillSwitch(t.store)
    await expect(kill.engage('  \u200b ', 'operator')).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(kill.engage('reason', '')).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect((await kill.state()).engaged).toBe(false)
  })

  // On PGlite the same is proved with the data-directory store below (opening another one costs seconds).
  it.runIf(driver === 'postgres')('fails closed when its state cannot be read (ADVERSARIAL 37)', async () => {
    const closed = await t.openAnother()
    const kill = createKillSwitch(closed)
    await closed.close()
    await expect(kill.state()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const error = await kill.assertOff().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KillSwitchEngagedError)
    expect(error).toMatchObject({ code: 'KILL_SWITCH_ENGAGED', state: undefined })
    expect((error as Error).message).toMatch(/cannot be read/)
  })

  it.runIf(driver === 'postgres')('is seen at once by a second replica', async () => {
    const other = createKillSwitch(await t.openAnother())
    const kill = createKillSwitch(t.store)
    await kill.engage('replica test', 'operator')
    await expect(other.assertOff()).rejects.toBeInstanceOf(KillSwitchEngagedError)
    await other.release('operator-2')
    await expect(kill.assertOff()).resolves.toBeUndefined()
  })
})

describe.each(testStoreDrivers)('one stopped contract on %s', (driver) => {
  const t = useTestStore(driver)
  const usdc = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'
  const weth = '0x4200000000000000000000000000000000000006'
  const router = '0x2626664c2603336e57b271c5c0b26f421741e481'

  it('refuses only writes that touch the stopped contract on that chain, names it and how to release it; both audited', async () => {
    const audit = createAuditLog(t.store)
    const kill = createKillSwitch(t.store, { audit })
    const stopped = await kill.stopContract(8453, usdc, 'moved 500 USDC, 100 checked', 'airlock (automatic)')
    expect(stopped).toMatchObject({
      chainId: 8453,
      address: usdc.toLowerCase(),
      reason: 'moved 500 USDC, 100 checked',
      actor: 'airlock (automatic)',
    })
    expect(stopped.stoppedAt).toBeInstanceOf(Date)

    const error = await kill
      .assertContractsLive(8453, [router, usdc.toLowerCase(), weth], { chainName: 'base' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KillSwitchEngagedError)
    expect(error).toMatchObject({
      code: 'KILL_SWITCH_ENGAGED',
      status: 503,
      state: undefined,
      contract: { chainId: 8453, address: usdc.toLowerCase() },
    })
    expect((error as Error).message).toContain(
      `Contract ${usdc.toLowerCase()} on base (chain 8453) is stopped`,
    )
    expect((error as Error).message).toContain('moved 500 USDC, 100 checked')
    expect((error as Error).message).toContain(`airlock unkill --contract 8453:${usdc.toLowerCase()}`)
    // Other contracts, the same contract on another chain, and the gateway as a whole keep working.
    await expect(kill.assertContractsLive(8453, [router, weth])).resolves.toBeUndefined()
    await expect(kill.assertContractsLive(1, [usdc])).resolves.toBeUndefined()
    await expect(kill.assertContractsLive(8453, [])).resolves.toBeUndefined()
    await expect(kill.assertOff()).resolves.toBeUndefined()

    const released = await kill.releaseContract(8453, usdc, 'operator')
    expect(released).toMatchObject({ chainId: 8453, address: usdc.toLowerCase() })
    await expect(kill.assertContractsLive(8453, [usdc])).resolves.toBeUndefined()
    expect(await kill.releaseContract(8453, usdc, 'operator')).toBeUndefined()

    const entries = await audit.read({ newestFirst: true, limit: 2 })
    expect(entries.map((e) => [e.kind, e.actor, e.data])).toEqual([
      [
        'kill_switch.contract_released',
        'operator',
        {
          chainId: 8453,
          address: usdc.toLowerCase(),
          previousReason: 'moved 500 USDC, 100 checked',
          stoppedBy: 'airlock (automatic)',
        },
      ],
      [
        'kill_switch.contract_stopped',
        'airlock (automatic)',
        { chainId: 8453, address: usdc.toLowerCase(), reason: 'moved 500 USDC, 100 checked' },
      ],
    ])
    expect((await audit.verify()).ok).toBe(true)
  })

  it('is idempotent: a second stop keeps the first reason and is still audited; the list shows each contract once', async () => {
    const audit = createAuditLog(t.store)
    const kill = createKillSwitch(t.store, { audit })
    const first = await kill.stopContract(10, weth, 'first reason', 'operator')
    const again = await kill.stopContract(10, weth.toLowerCase(), 'second reason', 'airlock (automatic)')
    expect(again).toEqual(first)
    const [last] = await audit.read({ newestFirst: true, limit: 1 })
    expect(last).toMatchObject({
      kind: 'kill_switch.contract_stopped',
      actor: 'airlock (automatic)',
      data: { chainId: 10, address: weth, reason: 'second reason', alreadyStopped: true },
    })
    await kill.stopContract(1, weth, 'on mainnet too', 'operator')
    expect((await kill.stoppedContracts({ chainId: 10 })).map((c) => [c.chainId, c.address])).toEqual([
      [10, weth],
    ])
    const all = await kill.stoppedContracts()
    expect(all.map((c) => [c.chainId, c.reason])).toEqual([
      [1, 'on mainnet too'],
      [10, 'first reason'],
    ])
    await kill.releaseContract(10, weth, 'operator')
    await kill.releaseContract(1, weth, 'operator')
    expect(await kill.stoppedContracts()).toEqual([])
  })

  it('cleans the reason and actor like the kill switch, and refuses bad input without writing', async () => {
    const kill = createKillSwitch(t.store)
    const stopped = await kill.stopContract(
      8453,
      router,
      `drained\u202e by \u200bkey 0x${'ab'.repeat(32)}`,
      'cli:\u001b[31mops',
    )
    expect(stopped.reason).not.toMatch(/[\u202e\u200b\u001b]/)
    expect(stopped.reason).not.toContain('ab'.repeat(32))
    expect(stopped.actor).not.toContain('\u001b')
    await kill.releaseContract(8453, router, 'operator')
    const bad: [number, string, string, string][] = [
      [0, router, 'r', 'a'],
      [1.5, router, 'r', 'a'],
      [8453, '0x1234', 'r', 'a'],
      [8453, '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02914', 'r', 'a'], // mixed case, wrong checksum
      [8453, router, ' \u200b ', 'a'],
      [8453, router, 'r', ''],
    ]
    for (const [chainId, address, reason, actor] of bad)
      await expect(kill.stopContract(chainId, address, reason, actor)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      })
    await expect(kill.releaseContract(8453, 'nope', 'operator')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    })
    expect(await kill.stoppedContracts()).toEqual([])
  })

  it.runIf(driver === 'postgres')('fails closed when the stopped contracts cannot be read', async () => {
    const closed = await t.openAnother()
    const kill = createKillSwitch(closed)
    await closed.close()
    await expect(kill.stoppedContracts()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const error = await kill.assertContractsLive(8453, [usdc]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KillSwitchEngagedError)
    expect(error).toMatchObject({ code: 'KILL_SWITCH_ENGAGED', state: undefined, contract: undefined })
    expect((error as Error).message).toMatch(/cannot be read/)
  })

  it.runIf(driver === 'postgres')(
    'a stop on one replica is seen at once by another, and survives it',
    async () => {
      const other = createKillSwitch(await t.openAnother())
      const kill = createKillSwitch(t.store)
      await Promise.all([
        kill.stopContract(8453, usdc, 'replica A', 'a'),
        other.stopContract(8453, usdc, 'replica B', 'b'),
      ])
      expect(await kill.stoppedContracts({ chainId: 8453 })).toHaveLength(1)
      await expect(other.assertContractsLive(8453, [usdc])).rejects.toBeInstanceOf(KillSwitchEngagedError)
      await other.releaseContract(8453, usdc, 'operator-2')
      await expect(kill.assertContractsLive(8453, [usdc])).resolves.toBeUndefined()
    },
  )
})

describe.each(testStoreDrivers)('one stopped agent on %s', (driver) => {
  const t = useTestStore(driver)
  const agentA = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
  const agentB = 'did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf'

  it('refuses only that agent, names it and how to release it; the operator and other agents go on; audited', async () => {
    const audit = createAuditLog(t.store)
    const kill = createKillSwitch(t.store, { audit })
    const stopped = await kill.stopAgent(agentA, '20 refused writes within 60 s', 'airlock (automatic)')
    expect(stopped).toMatchObject({ agent: agentA, actor: 'airlock (automatic)' })
    const error = await kill.assertOff(agentA).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KillSwitchEngagedError)
    expect((error as Error).message).toContain(`Agent ${agentA} is stopped`)
    expect((error as Error).message).toContain(`airlock unkill --agent ${agentA}`)
    await expect(kill.assertOff(agentB)).resolves.toBeUndefined()
    await expect(kill.assertOff()).resolves.toBeUndefined()
    expect((await kill.state()).engaged).toBe(false)
    expect(await kill.stoppedAgents()).toHaveLength(1)
    expect((await kill.releaseAgent(agentA, 'operator'))?.agent).toBe(agentA)
    expect(await kill.releaseAgent(agentA, 'operator')).toBeUndefined()
    await expect(kill.assertOff(agentA)).resolves.toBeUndefined()
    const kinds = (await audit.read()).map((e) => e.kind)
    expect(kinds).toEqual(['kill_switch.agent_stopped', 'kill_switch.agent_released'])
  })

  it('the gateway-wide switch stops every agent too', async () => {
    const kill = createKillSwitch(t.store)
    await kill.engage('incident', 'operator')
    await expect(kill.assertOff(agentB)).rejects.toBeInstanceOf(KillSwitchEngagedError)
    await kill.release('operator')
  })

  it('refuses an agent id that is not a did', async () => {
    const kill = createKillSwitch(t.store)
    await expect(kill.stopAgent('local', 'r', 'a')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      field: 'agent',
    })
  })
})

describe('kill switch on a PGlite data directory', () => {
  let dir: string | undefined
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('survives closing and reopening the store (a restart), and fails closed while closed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-kill-'))
    seedDataDir(dir)
    let store: Store = await openStore({ dataDir: dir })
    const before = createKillSwitch(store)
    try {
      await before.engage('engaged before restart', 'operator')
      await before.stopContract(1, zeroAddress, 'stopped before restart', 'operator')
    } finally {
      await store.close()
    }
    await expect(before.state()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    await expect(before.assertContractsLive(1, [zeroAddress])).rejects.toMatchObject({
      code: 'KILL_SWITCH_ENGAGED',
      message: expect.stringMatching(/cannot be read/),
    })
    const error = await before.assertOff().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KILL_SWITCH_ENGAGED', state: undefined })
    expect((error as Error).message).toMatch(/cannot be read/)
    store = await openStore({ dataDir: dir })
    try {
      const kill = createKillSwitch(store)
      expect(await kill.state()).toMatchObject({ engaged: true, reason: 'engaged before restart' })
      await expect(kill.assertOff()).rejects.toThrow(/engaged before restart/)
      await expect(kill.assertContractsLive(1, [zeroAddress])).rejects.toThrow(/stopped before restart/)
    } finally {
      await store.close()
    }
  })
})
