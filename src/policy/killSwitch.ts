import { type Selectable, sql } from 'kysely'
import { type Address, isAddress } from 'viem'
import type { AuditLog } from '../audit/auditLog.js'
import {
  BaseError,
  type BaseErrorParameters,
  InvalidInputError,
  StoreUnavailableError,
  scrubSecrets,
} from '../errors/index.js'
import type { KillSwitchTable, StoppedAgentsTable, StoppedContractsTable } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'

/** The kill switch as the store holds it. `actor` is who engaged it, or who released it last. */
export type KillState = { engaged: boolean; reason: string | null; actor: string | null; updatedAt: Date }

/** One agent stopped on its own: none of its writes is signed until it is released; other callers go on. */
export type StoppedAgent = {
  /** The agent's did:key. */
  agent: string
  reason: string
  actor: string
  stoppedAt: Date
}

/** One contract stopped on one chain: no write whose counterparties include it is signed until it is released. */
export type StoppedContract = {
  chainId: number
  /** Lowercase hex. */
  address: Address
  reason: string
  /** Who stopped it (`airlock (automatic)` when the gateway did). */
  actor: string
  stoppedAt: Date
}

/**
 * The gateway-wide stop (DESIGN §1, ADVERSARIAL 37): while engaged nothing is signed or broadcast. And the same
 * stop for one contract on one chain (DESIGN §11): writes that touch a stopped contract are refused, the others go
 * through.
 */
export type KillSwitch = {
  /**
   * Reads the state from the store, every time (another replica or the CLI may have changed it).
   * @throws {StoreUnavailableError} the state cannot be read: callers deny (fail closed)
   */
  state(): Promise<KillState>
  /**
   * Returns when the switch is off (and, given `agent`, that agent is not stopped); the last check before signing
   * and before broadcasting.
   * @throws {KillSwitchEngagedError} engaged, the agent stopped, or the state cannot be read (fail closed)
   */
  assertOff(agent?: string | undefined): Promise<void>
  /**
   * Stops one agent (`airlock kill --agent DID`, or the automatic kill switch counting that agent's refusals): none
   * of its writes is signed from now on, on any replica. Already stopped: the first reason stands, still audited.
   * @throws {InvalidInputError} an agent id that is not a did, an empty reason or actor
   * @throws {StoreUnavailableError} the store refused the write
   */
  stopAgent(agent: string, reason: string, actor: string): Promise<StoppedAgent>
  /**
   * Releases one stopped agent (`airlock unkill --agent DID`); `undefined` when it was not stopped.
   * @throws {StoreUnavailableError} the store refused the write
   */
  releaseAgent(agent: string, actor: string): Promise<StoppedAgent | undefined>
  /** The stopped agents, newest first. @throws {StoreUnavailableError} */
  stoppedAgents(): Promise<StoppedAgent[]>
  /**
   * Engages the switch. Already engaged: the first reason stands (the state is unchanged) and the repeat is
   * still audited.
   * @throws {InvalidInputError} empty reason or actor
   * @throws {StoreUnavailableError} the store refused the write
   */
  engage(reason: string, actor: string): Promise<KillState>
  /**
   * Releases the switch (`airlock unkill`). Already off: nothing is written.
   * @throws {InvalidInputError} empty actor
   * @throws {StoreUnavailableError} the store refused the write
   */
  release(actor: string): Promise<KillState>
  /**
   * Stops one contract on one chain: from now on no write whose counterparties include it is signed (on any
   * replica). Already stopped: the first reason stands (the row is unchanged) and the repeat is still audited.
   * Returns the contract as stopped.
   * @throws {InvalidInputError} a chain id that is not a positive integer, an address that is not an EVM address
   *   (EIP-55 or lowercase), an empty reason or actor
   * @throws {StoreUnavailableError} the store refused the write
   */
  stopContract(chainId: number, address: string, reason: string, actor: string): Promise<StoppedContract>
  /**
   * Releases one stopped contract (`airlock unkill --contract CHAIN:ADDRESS`). Returns what was released, or
   * `undefined` when it was not stopped (then nothing is written).
   * @throws {InvalidInputError} a bad chain id or address, an empty actor
   * @throws {StoreUnavailableError} the store refused the write
   */
  releaseContract(chainId: number, address: string, actor: string): Promise<StoppedContract | undefined>
  /**
   * The stopped contracts, newest first; on one chain with `chainId`.
   * @throws {StoreUnavailableError} they cannot be read
   */
  stoppedContracts(options?: { chainId?: number | undefined }): Promise<StoppedContract[]>
  /**
   * Returns when none of `addresses` is stopped on `chainId` (one query; strings that are not EVM addresses are
   * skipped). The check before a write is decided.
   * @throws {KillSwitchEngagedError} one of them is stopped (the error names it), or the stopped contracts cannot
   *   be read (fail closed)
   */
  assertContractsLive(
    chainId: number,
    addresses: readonly string[],
    options?: { chainName?: string | undefined },
  ): Promise<void>
}

/**
 * Nothing may be signed or sent: the kill switch is engaged, or its state could not be read (then the gateway
 * fails closed). `state` is the engaged state when it was read.
 *
 * @example
 * try { await kill.assertOff() } catch (e) { if (e instanceof KillSwitchEngagedError) return errorResult(e) }
 */
export class KillSwitchEngagedError extends BaseError {
  override name = 'KillSwitchEngagedError'
  readonly state: KillState | undefined
  /** The stopped contract the write touches, when only that contract is stopped. */
  readonly contract: StoppedContract | undefined

  constructor(
    parameters: Pick<BaseErrorParameters, 'cause'> &
      (
        | { state: KillState }
        | { unreadable: string }
        | { contract: StoppedContract; chainName?: string | undefined }
        | { agent: StoppedAgent }
      ),
  ) {
    if ('agent' in parameters) {
      const a = parameters.agent
      super(
        'KILL_SWITCH_ENGAGED',
        `Agent ${a.agent} is stopped by ${a.actor} since ${a.stoppedAt.toISOString()}: ${a.reason}. None of its writes is signed or sent.`,
        {
          cause: parameters.cause,
          metaMessages: [
            `An operator releases it with \`airlock unkill --agent ${a.agent}\` once the cause is understood.`,
            'Nothing was signed for this request.',
          ],
        },
      )
      this.state = undefined
      this.contract = undefined
      return
    }
    if ('contract' in parameters) {
      const { contract: c, chainName } = parameters
      super(
        'KILL_SWITCH_ENGAGED',
        `Contract ${c.address} on ${chainName ? `${chainName} (chain ${c.chainId})` : `chain ${c.chainId}`} is stopped by ${c.actor} since ${c.stoppedAt.toISOString()}: ${c.reason}. No write that touches it is signed or sent; writes that do not touch it go through.`,
        {
          cause: parameters.cause,
          metaMessages: [
            `An operator releases it with \`airlock unkill --contract ${contractRef(c.chainId, c.address)}\` once the cause is understood.`,
            'Nothing was signed for this request.',
          ],
        },
      )
      this.state = undefined
      this.contract = c
      return
    }
    const state = 'state' in parameters ? parameters.state : undefined
    super(
      'KILL_SWITCH_ENGAGED',
      state
        ? `The kill switch is engaged${state.actor ? ` by ${state.actor}` : ''} since ${state.updatedAt.toISOString()}: ${state.reason ?? 'no reason given'}. Nothing is signed or sent.`
        : `The kill switch state cannot be read (${'unreadable' in parameters ? parameters.unreadable : 'unknown'}), so nothing is signed or sent (fail closed).`,
      {
        cause: parameters.cause,
        metaMessages: state
          ? [
              'An operator releases it with `airlock unkill` once the cause is understood.',
              'Nothing was signed for this request; recorded intents stay as they are.',
            ]
          : [
              'Check that the store (PGlite data directory or DATABASE_URL) is reachable; writes resume once it is.',
              'If the switch is engaged, an operator releases it with `airlock unkill`.',
            ],
      },
    )
    this.state = state
    this.contract = undefined
  }
}

/**
 * How the operator names one contract on one chain (`airlock unkill --contract 31337:0xabc…`).
 *
 * @example contractRef(8453, '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913') // '8453:0x833589fc…'
 */
export function contractRef(chainId: number, address: string): string {
  return `${chainId}:${address.toLowerCase()}`
}

/**
 * The kill switch over a store: one row, read on every check, so an engage on one replica (or the CLI) stops
 * all of them at once and survives restarts. Engage and release are audited in the same transaction.
 *
 * @example
 * const kill = createKillSwitch(store, { audit })
 * await kill.engage('suspicious transfers', 'operator')
 * await kill.assertOff() // throws KillSwitchEngagedError
 * await kill.release('operator')
 */
export function createKillSwitch(store: Store, options: { audit?: AuditLog | undefined } = {}): KillSwitch {
  const { db } = store
  const { audit } = options

  async function state(): Promise<KillState> {
    let row: Selectable<KillSwitchTable> | undefined
    try {
      row = await db.selectFrom('kill_switch').selectAll().where('id', '=', 1).executeTakeFirst()
    } catch (error) {
      throw unavailable(store, error)
    }
    if (!row) throw unavailable(store, new Error('the kill_switch row is missing'))
    return toState(row)
  }

  async function write(engaged: boolean, reason: string | null, actor: string): Promise<KillState> {
    try {
      return await db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('kill_switch')
          .selectAll()
          .where('id', '=', 1)
          .forUpdate()
          .executeTakeFirstOrThrow()
        const kind = engaged ? 'kill_switch.engaged' : 'kill_switch.released'
        if (current.engaged === engaged) {
          // No change. A repeated engage is still worth a line in the audit log (its reason may be new).
          if (engaged && audit)
            await audit.appendWithin(trx, { kind, actor, data: { reason, alreadyEngaged: true } })
          return toState(current)
        }
        const row = await trx
          .updateTable('kill_switch')
          .set({ engaged, reason, actor, updated_at: sql<Date>`now()` })
          .where('id', '=', 1)
          .returningAll()
          .executeTakeFirstOrThrow()
        if (audit)
          await audit.appendWithin(trx, {
            kind,
            actor,
            data: engaged ? { reason } : { previousReason: current.reason, engagedBy: current.actor },
          })
        return toState(row)
      })
    } catch (error) {
      throw unavailable(store, error)
    }
  }

  async function stoppedAmong(chainId: number, addresses: readonly Address[]): Promise<StoppedContract[]> {
    try {
      const rows = await db
        .selectFrom('stopped_contracts')
        .selectAll()
        .where('chain_id', '=', chainId)
        .where('address', 'in', addresses)
        .orderBy('stopped_at')
        .orderBy('address')
        .execute()
      return rows.map(toStopped)
    } catch (error) {
      throw unavailable(store, error)
    }
  }

  return {
    state,

    async assertOff(agent) {
      let current: KillState
      let stopped: Selectable<StoppedAgentsTable> | undefined
      try {
        current = await state()
        if (agent !== undefined && !current.engaged)
          stopped = await db
            .selectFrom('stopped_agents')
            .selectAll()
            .where('agent', '=', agent)
            .executeTakeFirst()
            .catch((error: unknown) => {
              throw unavailable(store, error)
            })
      } catch (error) {
        const reason =
          error instanceof StoreUnavailableError ? error.shortMessage : 'the store did not answer'
        throw new KillSwitchEngagedError({ unreadable: reason.replace(/\.$/, ''), cause: error })
      }
      if (current.engaged) throw new KillSwitchEngagedError({ state: current })
      if (stopped) throw new KillSwitchEngagedError({ agent: toStoppedAgent(stopped) })
    },

    async stopAgent(agent, reason, actor) {
      const id = agentOf(agent)
      const why = text(reason, 'reason', 500)
      const by = text(actor, 'actor', 200)
      try {
        return await db.transaction().execute(async (trx) => {
          const inserted = await trx
            .insertInto('stopped_agents')
            .values({ agent: id, reason: why, actor: by })
            .onConflict((oc) => oc.column('agent').doNothing())
            .returningAll()
            .executeTakeFirst()
          const row =
            inserted ??
            (await trx
              .selectFrom('stopped_agents')
              .selectAll()
              .where('agent', '=', id)
              .executeTakeFirstOrThrow())
          if (audit)
            await audit.appendWithin(trx, {
              kind: 'kill_switch.agent_stopped',
              actor: by,
              data: { agent: id, reason: why, ...(inserted ? {} : { alreadyStopped: true }) },
            })
          return toStoppedAgent(row)
        })
      } catch (error) {
        throw unavailable(store, error)
      }
    },

    async releaseAgent(agent, actor) {
      const id = agentOf(agent)
      const by = text(actor, 'actor', 200)
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .deleteFrom('stopped_agents')
            .where('agent', '=', id)
            .returningAll()
            .executeTakeFirst()
          if (!row) return undefined
          if (audit)
            await audit.appendWithin(trx, {
              kind: 'kill_switch.agent_released',
              actor: by,
              data: { agent: id, previousReason: row.reason, stoppedBy: row.actor },
            })
          return toStoppedAgent(row)
        })
      } catch (error) {
        throw unavailable(store, error)
      }
    },

    async stoppedAgents() {
      try {
        const rows = await db.selectFrom('stopped_agents').selectAll().orderBy('stopped_at', 'desc').execute()
        return rows.map(toStoppedAgent)
      } catch (error) {
        throw unavailable(store, error)
      }
    },

    async engage(reason, actor) {
      return write(true, text(reason, 'reason', 500), text(actor, 'actor', 200))
    },

    async release(actor) {
      return write(false, null, text(actor, 'actor', 200))
    },

    async stopContract(chainId, address, reason, actor) {
      const target = { chainId: chainIdOf(chainId), address: addressOf(address) }
      const why = text(reason, 'reason', 500)
      const by = text(actor, 'actor', 200)
      try {
        return await db.transaction().execute(async (trx) => {
          const inserted = await trx
            .insertInto('stopped_contracts')
            .values({ chain_id: target.chainId, address: target.address, reason: why, actor: by })
            .onConflict((oc) => oc.columns(['chain_id', 'address']).doNothing())
            .returningAll()
            .executeTakeFirst()
          const row =
            inserted ??
            (await trx
              .selectFrom('stopped_contracts')
              .selectAll()
              .where('chain_id', '=', target.chainId)
              .where('address', '=', target.address)
              .executeTakeFirstOrThrow())
          // A repeated stop changes nothing, but is worth a line in the audit log (its reason may be new).
          if (audit)
            await audit.appendWithin(trx, {
              kind: 'kill_switch.contract_stopped',
              actor: by,
              data: { ...target, reason: why, ...(inserted ? {} : { alreadyStopped: true }) },
            })
          return toStopped(row)
        })
      } catch (error) {
        throw unavailable(store, error)
      }
    },

    async releaseContract(chainId, address, actor) {
      const target = { chainId: chainIdOf(chainId), address: addressOf(address) }
      const by = text(actor, 'actor', 200)
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .deleteFrom('stopped_contracts')
            .where('chain_id', '=', target.chainId)
            .where('address', '=', target.address)
            .returningAll()
            .executeTakeFirst()
          if (!row) return undefined
          if (audit)
            await audit.appendWithin(trx, {
              kind: 'kill_switch.contract_released',
              actor: by,
              data: { ...target, previousReason: row.reason, stoppedBy: row.actor },
            })
          return toStopped(row)
        })
      } catch (error) {
        throw unavailable(store, error)
      }
    },

    async stoppedContracts(options = {}) {
      const chainId = options.chainId === undefined ? undefined : chainIdOf(options.chainId)
      try {
        let query = db.selectFrom('stopped_contracts').selectAll()
        if (chainId !== undefined) query = query.where('chain_id', '=', chainId)
        const rows = await query
          .orderBy('stopped_at', 'desc')
          .orderBy('chain_id')
          .orderBy('address')
          .execute()
        return rows.map(toStopped)
      } catch (error) {
        throw unavailable(store, error)
      }
    },

    async assertContractsLive(chainId, addresses, options = {}) {
      const wanted = [
        ...new Set(addresses.filter((a) => isAddress(a, { strict: false })).map((a) => a.toLowerCase())),
      ] as Address[]
      if (wanted.length === 0) return
      let stopped: StoppedContract[]
      try {
        stopped = await stoppedAmong(chainIdOf(chainId), wanted)
      } catch (error) {
        const reason =
          error instanceof StoreUnavailableError ? error.shortMessage : 'the store did not answer'
        throw new KillSwitchEngagedError({ unreadable: reason.replace(/\.$/, ''), cause: error })
      }
      const [first] = stopped
      if (first) throw new KillSwitchEngagedError({ contract: first, chainName: options.chainName })
    },
  }
}

function toStoppedAgent(row: Selectable<StoppedAgentsTable>): StoppedAgent {
  return { agent: row.agent, reason: row.reason, actor: row.actor, stoppedAt: row.stopped_at }
}

/** An agent id as a stop names it: a did (the passport's subject). */
function agentOf(value: string): string {
  if (typeof value !== 'string' || !/^did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,200}$/.test(value))
    throw new InvalidInputError(
      `"${typeof value === 'string' ? sanitizeText(value, { maxLength: 60 }).text : typeof value}" is not an agent id: give the agent's did (did:key:z…).`,
      { field: 'agent' },
    )
  return value
}

function toStopped(row: Selectable<StoppedContractsTable>): StoppedContract {
  return {
    chainId: row.chain_id,
    address: row.address as Address,
    reason: row.reason,
    actor: row.actor,
    stoppedAt: row.stopped_at,
  }
}

/** A chain id the store can hold (a positive 32-bit integer). */
function chainIdOf(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > 2 ** 31 - 1)
    throw new InvalidInputError('A stopped contract needs a chain id: a positive integer.', {
      field: 'chainId',
    })
  return value
}

/** An EVM address, EIP-55 or lowercase (DESIGN §3), as the store keeps it: lowercase. */
function addressOf(value: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: true }))
    throw new InvalidInputError(
      `"${typeof value === 'string' ? sanitizeText(value, { maxLength: 60 }).text : typeof value}" is not an EVM contract address (EIP-55 or all-lowercase).`,
      { field: 'address' },
    )
  return value.toLowerCase() as Address
}

function toState(row: Selectable<KillSwitchTable>): KillState {
  return { engaged: row.engaged, reason: row.reason, actor: row.actor, updatedAt: row.updated_at }
}

/** One line of operator text: hidden characters removed, secrets scrubbed, non-empty, capped. */
function text(value: string, field: string, maxLength: number): string {
  const clean = typeof value === 'string' ? scrubSecrets(sanitizeText(value, { maxLength }).text) : ''
  if (!clean) throw new InvalidInputError(`The kill switch needs a non-empty ${field}.`, { field })
  return clean
}

function unavailable(store: Store, error: unknown): BaseError {
  if (error instanceof BaseError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StoreUnavailableError({
    target: store.driver === 'postgres' ? `PostgreSQL (schema "${store.schema}")` : 'the embedded database',
    reason: `the kill switch could not be read or written: ${scrubSecrets(message.split('\n')[0] ?? '').slice(0, 200) || 'unknown error'}`,
    metaMessages: [
      'Writes are refused until the kill switch can be read (fail closed).',
      'Check DATABASE_URL or the data directory, then retry.',
    ],
    cause: error,
  })
}
