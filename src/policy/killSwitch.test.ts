import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
    } finally {
      await store.close()
    }
    await expect(before.state()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const error = await before.assertOff().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'KILL_SWITCH_ENGAGED', state: undefined })
    expect((error as Error).message).toMatch(/cannot be read/)
    store = await openStore({ dataDir: dir })
    try {
      const kill = createKillSwitch(store)
      expect(await kill.state()).toMatchObject({ engaged: true, reason: 'engaged before restart' })
      await expect(kill.assertOff()).rejects.toThrow(/engaged before restart/)
    } finally {
      await store.close()
    }
  })
})
