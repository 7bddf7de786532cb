import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { Store } from '../store/openStore.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import {
  createServiceLeases,
  createServices,
  type PeriodicService,
  periodicService,
  replicaId,
  type Service,
} from './services.js'

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** One replica's copy of a leased service, with events to wait on instead of guessing times. */
type Replica = PeriodicService & {
  readonly id: string
  readonly runs: number
  /** Resolves at the next lease attempt that ends with `held`. */
  nextLease(held: boolean): Promise<void>
  /** Resolves when the next pass has run. */
  nextRun(): Promise<void>
}

/** Every replica made, stopped after each test (a failed test must not leave one ticking on a closed store). */
const started: Replica[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()))
})

function replica(store: Store, name: string, intervalMs: number): Replica {
  const id = replicaId()
  let runs = 0
  const leaseWaiters: { held: boolean; resolve(): void }[] = []
  const runWaiters: (() => void)[] = []
  const service = periodicService({
    name,
    intervalMs,
    lease: { leases: createServiceLeases(store.db), holder: id, ttlMs: 60_000 },
    async run() {
      runs++
      for (const resolve of runWaiters.splice(0)) resolve()
    },
    onError: (error) => {
      throw error
    },
    onLease(held) {
      for (const w of leaseWaiters.splice(0))
        if (w.held === held) w.resolve()
        else leaseWaiters.push(w)
    },
  })
  const r: Replica = {
    name,
    id,
    start: () => service.start(),
    stop: () => service.stop(),
    runNow: () => service.runNow(),
    get leader() {
      return service.leader
    },
    get runs() {
      return runs
    },
    nextLease: (held) => new Promise<void>((resolve) => leaseWaiters.push({ held, resolve })),
    nextRun: () => new Promise<void>((resolve) => runWaiters.push(resolve)),
  }
  started.push(r)
  return r
}

/** Moves a lease's expiry into the past by the database clock: what time passing would do, without waiting. */
async function lapse(store: Store, name: string): Promise<void> {
  await sql`update service_leases set expires_at = now() - interval '1 second' where name = ${name}`.execute(
    store.db,
  )
}

describe.each(testStoreDrivers)('service leases on %s', (driver) => {
  const t = useTestStore(driver)
  /** The second replica's store: its own pool on PostgreSQL; the same store on PGlite (one process per store). */
  const otherStore = () => (driver === 'postgres' ? t.openAnother() : Promise.resolve(t.store))

  it('one holder at a time: renewals by the holder, takeover only after it lapses or is released', async () => {
    const a = createServiceLeases(t.store.db)
    const b = createServiceLeases((await otherStore()).db)
    expect(await a.acquire('leases', 'A', 60_000)).toBe(true)
    expect(await b.acquire('leases', 'B', 60_000)).toBe(false)
    expect(await a.acquire('leases', 'A', 60_000)).toBe(true)
    await b.release('leases', 'B') // not B's to release
    expect((await b.current('leases'))?.holder).toBe('A')

    await lapse(t.store, 'leases')
    expect(await b.acquire('leases', 'B', 60_000)).toBe(true)
    expect(await a.acquire('leases', 'A', 60_000)).toBe(false) // A's renewal comes too late
    await a.release('leases', 'A')
    expect((await a.current('leases'))?.holder).toBe('B')

    await b.release('leases', 'B')
    expect(await a.current('leases')).toBeUndefined()
    expect(await a.acquire('leases', 'A', 60_000)).toBe(true)
  })

  it('twenty replicas asking at once: exactly one holds the lease', async () => {
    const other = await otherStore()
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createServiceLeases((i % 2 ? other : t.store).db).acquire('race', `R${i}`, 60_000),
      ),
    )
    expect(answers.filter(Boolean)).toHaveLength(1)
    const winner = `R${answers.indexOf(true)}`
    expect((await createServiceLeases(t.store.db).current('race'))?.holder).toBe(winner)
  })

  it('two replicas of a leased service: only the holder runs it; the other takes over when the holder stops', async () => {
    const name = 'handover'
    const a = replica(t.store, name, 10)
    await a.start() // takes the lease and runs a first pass
    expect(a.leader).toBe(true)
    expect(a.runs).toBe(1)

    const b = replica(await otherStore(), name, 10)
    await b.start() // its first attempt is refused
    expect(b.leader).toBe(false)
    await b.nextLease(false) // and so is the next tick's
    expect(b.runs).toBe(0)

    const bRuns = b.nextRun()
    await a.stop() // releases the lease
    const ranBeforeStop = a.runs
    await bRuns
    expect(b.leader).toBe(true)
    expect(a.leader).toBe(false)
    expect((await createServiceLeases(t.store.db).current(name))?.holder).toBe(b.id)
    expect(a.runs).toBe(ranBeforeStop)

    await b.stop()
    expect(await createServiceLeases(t.store.db).current(name)).toBeUndefined()
  })

  it('a holder that stops renewing (a crashed replica) is taken over once its lease lapses, and never steals it back', async () => {
    const name = 'crashed'
    const frozen = replica(t.store, name, 3_600_000) // takes the lease, then never ticks within this test
    await frozen.start()
    expect(frozen.leader).toBe(true)
    const live = replica(await otherStore(), name, 10)
    await live.start()
    expect(live.leader).toBe(false)

    const takesOver = live.nextRun()
    await lapse(t.store, name)
    await takesOver
    expect(live.leader).toBe(true)

    // The old holder wakes up: its lease is gone, so it runs nothing and knows it is no longer the leader.
    const before = frozen.runs
    await frozen.runNow()
    expect(frozen.runs).toBe(before)
    expect(frozen.leader).toBe(false)
    await frozen.stop() // and its stop leaves the new holder's lease alone
    expect((await createServiceLeases(t.store.db).current(name))?.holder).toBe(live.id)
    await live.stop()
  })
})

describe('periodic services', () => {
  it('stop waits for the pass in progress, then runs nothing more', async () => {
    const gate = deferred()
    const begun = deferred()
    let passes = 0
    const service = periodicService({
      name: 'slow',
      intervalMs: 3_600_000,
      async run() {
        begun.resolve()
        await gate.promise
        passes++
      },
    })
    void service.start()
    await begun.promise
    let stopped = false
    const stopping = service.stop().then(() => {
      stopped = true
    })
    await new Promise((r) => setImmediate(r))
    expect(stopped).toBe(false) // the pass still holds it
    gate.resolve()
    await stopping
    expect(passes).toBe(1)
    await service.runNow()
    expect(passes).toBe(1)
  })

  it('runNow never joins a pass under way: it starts one after it, shared by the callers waiting meanwhile', async () => {
    const gates = [deferred(), deferred()]
    const begun = [deferred(), deferred()]
    let passes = 0
    const service = periodicService({
      name: 'asked',
      intervalMs: 3_600_000,
      async run() {
        const i = passes++
        begun[i]?.resolve()
        await gates[i]?.promise
      },
    })
    const first = service.runNow()
    await begun[0]?.promise
    const [x, y] = [service.runNow(), service.runNow()]
    expect(x).toBe(y)
    gates[0]?.resolve()
    await first
    await begun[1]?.promise // the second pass starts after the first ended
    gates[1]?.resolve()
    await x
    expect(passes).toBe(2)
    await service.stop()
  })

  it('a failing pass is reported and the service keeps going', async () => {
    const errors: unknown[] = []
    let passes = 0
    const service = periodicService({
      name: 'flaky',
      intervalMs: 3_600_000,
      async run() {
        passes++
        if (passes === 1) throw new Error('store briefly away')
      },
      onError: (error) => errors.push(error),
    })
    await service.start()
    await service.runNow()
    expect(passes).toBe(2)
    expect(errors).toHaveLength(1)
    await service.stop()
  })
})

describe('createServices', () => {
  it('stops the newest first, waits for each, and starts nothing once stopping', async () => {
    const events: string[] = []
    const make = (name: string): Service => ({
      name,
      start: () => {
        events.push(`start ${name}`)
      },
      stop: async () => {
        events.push(`stop ${name}`)
      },
    })
    const services = createServices()
    const [tracker, maintenance] = [make('tracker'), make('maintenance')]
    expect(services.add(tracker)).toBe(true)
    expect(services.add(maintenance)).toBe(true)
    await services.start(tracker)
    await services.start(maintenance)
    expect(services.names()).toEqual(['tracker', 'maintenance'])
    await services.stop()
    expect(events).toEqual(['start tracker', 'start maintenance', 'stop maintenance', 'stop tracker'])
    const late = make('late')
    expect(services.add(late)).toBe(false)
    await services.start(late)
    expect(events).not.toContain('start late')
  })
})
