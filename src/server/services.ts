import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { toBaseError } from '../errors/index.js'
import type { Database } from '../store/database.js'

/**
 * Background work with a lifecycle (DESIGN §2): the tracker, approval maintenance, and later the standing orders'
 * firing service and payouts. `createGateway` starts them once the store is open and stops them on close.
 */
export type Service = {
  readonly name: string
  /** Starts the work (timers); the first pass may still be running when it resolves. */
  start(): void | Promise<void>
  /** Stops the work and resolves once a pass in progress has let go, and any lease is released. */
  stop(): Promise<void>
}

/**
 * Leases on services only one replica may run (`service_leases`, migration 0005). Every decision is one statement
 * by the database clock, so replicas sharing PostgreSQL never disagree about who holds a lease or when it lapsed.
 */
export type ServiceLeases = {
  /**
   * Takes the lease, or renews it when `holder` already holds it, for `ttlMs` from now. Taken only when free,
   * lapsed (`expires_at` passed) or already ours: one conditional upsert. Resolves whether `holder` holds it now.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>
  /** Gives the lease up, if `holder` holds it (a lapsed lease taken by another replica is left alone). */
  release(name: string, holder: string): Promise<void>
  /** Who holds the lease, and until when; undefined when nobody has held it or it was released. */
  current(name: string): Promise<{ holder: string; expiresAt: Date } | undefined>
}

/**
 * The service leases of a store.
 *
 * @example
 * const leases = createServiceLeases(store.db)
 * if (await leases.acquire('orders', replicaId, 15_000)) await fireDueOrders()
 */
export function createServiceLeases(db: Kysely<Database>): ServiceLeases {
  return {
    async acquire(name, holder, ttlMs) {
      if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
        throw new TypeError('A lease lasts a positive whole ms.')
      const { rows } = await sql<{ holder: string }>`
        insert into service_leases (name, holder, expires_at, acquired_at)
        values (${name}, ${holder}, now() + ${ttlMs} * interval '1 millisecond', now())
        on conflict (name) do update set
          holder = excluded.holder,
          expires_at = excluded.expires_at,
          acquired_at = case
            when service_leases.holder = excluded.holder then service_leases.acquired_at
            else excluded.acquired_at
          end
        where service_leases.holder = excluded.holder or service_leases.expires_at <= now()
        returning holder`.execute(db)
      return rows[0]?.holder === holder
    },
    async release(name, holder) {
      await db.deleteFrom('service_leases').where('name', '=', name).where('holder', '=', holder).execute()
    },
    async current(name) {
      const row = await db
        .selectFrom('service_leases')
        .select(['holder', 'expires_at'])
        .where('name', '=', name)
        .executeTakeFirst()
      return row && { holder: row.holder, expiresAt: new Date(row.expires_at) }
    },
  }
}

/** A random id for this gateway process as a lease holder: `replica-<uuid>`. */
export function replicaId(): string {
  return `replica-${randomUUID()}`
}

/** Options of {@link periodicService}. */
export type PeriodicServiceOptions = {
  name: string
  /** Time between passes (a tick that finds a pass still running only renews the lease). */
  intervalMs: number
  /**
   * One pass of the work; never two at once. `signal` aborts when the service stops or loses its lease: a long
   * pass should stop taking new work then.
   */
  run(signal: AbortSignal): Promise<unknown>
  /**
   * Only one replica may run it: the lease it must hold for a pass to run. Without one, every replica runs it
   * (work whose database transitions are conditional anyway).
   */
  lease?:
    | {
        leases: ServiceLeases
        /** This replica's id ({@link replicaId}). */
        holder: string
        /** How long a take or renewal lasts (default: three intervals, at least 5 s). Keep it above the interval. */
        ttlMs?: number | undefined
      }
    | undefined
  /** A pass or a lease call failed; the next tick tries again. Default: a process warning. */
  onError?: ((error: unknown) => void) | undefined
  /** Told after every lease take or renewal attempt whether this replica holds it (logs and tests). */
  onLease?: ((held: boolean) => void) | undefined
}

/** A service that runs a pass every interval, and on demand. */
export type PeriodicService = Service & {
  /**
   * Runs a pass now and resolves when it has ended. A pass already under way is not joined (it may have read its
   * inputs before the caller's change): a new one starts after it, shared by every caller waiting meanwhile.
   * With a lease, the pass runs only if this replica holds (or takes) it. After stop, it runs nothing.
   */
  runNow(): Promise<void>
  /** Whether this replica holds the lease (always true for a service without one). */
  readonly leader: boolean
}

/**
 * A service that runs `run` every `intervalMs`, one pass at a time, optionally only while it holds its lease.
 * `start` takes the lease (if any) and runs a first pass at once; `stop` clears the timer, aborts the signal, waits
 * for a pass in progress (and one already asked for), then releases the lease.
 *
 * @example
 * const maintenance = periodicService({ name: 'approval-maintenance', intervalMs: 1000, run: () => path.maintain() })
 * await maintenance.start()
 * await maintenance.stop()
 */
export function periodicService(options: PeriodicServiceOptions): PeriodicService {
  const { name, intervalMs, lease } = options
  const ttlMs = lease?.ttlMs ?? Math.max(intervalMs * 3, 5_000)
  const onError =
    options.onError ??
    ((error: unknown) => process.emitWarning(`airlock ${name}: ${toBaseError(error).shortMessage}`))
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let held = lease === undefined
  let controller = new AbortController()
  let running: Promise<void> | undefined
  let queued: Promise<void> | undefined
  let renewing: Promise<void> | undefined

  /** Takes or renews the lease; whether this replica may run a pass. */
  async function hold(): Promise<boolean> {
    if (!lease) return true
    let now = false
    try {
      now = await lease.leases.acquire(name, lease.holder, ttlMs)
    } catch (error) {
      onError(error) // unknown: the lease may lapse meanwhile, so behave as if lost
    }
    if (held && !now) {
      controller.abort()
      controller = new AbortController()
    }
    held = now
    try {
      options.onLease?.(now)
    } catch (error) {
      onError(error)
    }
    return now
  }

  function pass(): Promise<void> {
    running = (async () => {
      if (await hold()) await options.run(controller.signal)
    })()
      .catch(onError)
      .finally(() => {
        running = undefined
      })
    return running
  }

  function tick(): void {
    if (stopped) return
    if (!running) {
      void pass()
      return
    }
    // A long pass keeps its lease: the ticks meanwhile renew it (hold() never throws).
    if (lease && !renewing)
      renewing = hold().then(() => {
        renewing = undefined
      })
  }

  return {
    name,
    get leader() {
      return held
    },
    start() {
      if (stopped || timer) return
      timer = setInterval(tick, intervalMs)
      timer.unref()
      if (!running) return pass()
    },
    runNow() {
      if (stopped) return queued ?? running ?? Promise.resolve()
      if (!running) return pass()
      queued ??= running.then(() => {
        const next = pass()
        queued = undefined
        return next
      })
      return queued
    },
    async stop() {
      stopped = true
      if (timer) clearInterval(timer)
      timer = undefined
      controller.abort()
      await (queued ?? running)
      await renewing
      if (lease && held) {
        held = false
        await lease.leases.release(name, lease.holder).catch(onError)
      }
    },
  }
}

/** The gateway's services: registered as they are built, stopped together (last started, first stopped). */
export type Services = {
  /**
   * Registers a service so that {@link Services.stop} stops it. Returns false, registering nothing, once stop has
   * begun (the store may be closing: do not start its work).
   */
  add(service: Service): boolean
  /** Starts a registered service, unless stop has begun. */
  start(service: Service): Promise<void>
  /** Stops every service, newest first, each waiting for its work in progress. */
  stop(): Promise<void>
  /** Names of the registered services, in the order they were added. */
  names(): string[]
}

/**
 * An empty set of services.
 *
 * @example
 * const services = createServices()
 * if (services.add(tracker)) await services.start(tracker)
 * await services.stop()
 */
export function createServices(): Services {
  const list: Service[] = []
  let stopping = false
  return {
    add(service) {
      if (stopping) return false
      list.push(service)
      return true
    },
    async start(service) {
      if (stopping || !list.includes(service)) return
      await service.start()
    },
    async stop() {
      stopping = true
      const errors: unknown[] = []
      for (const service of [...list].reverse()) await service.stop().catch((e: unknown) => errors.push(e))
      if (errors.length) throw errors[0]
    },
    names: () => list.map((s) => s.name),
  }
}
