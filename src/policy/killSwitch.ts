import { type Selectable, sql } from 'kysely'
import type { AuditLog } from '../audit/auditLog.js'
import {
  BaseError,
  type BaseErrorParameters,
  InvalidInputError,
  StoreUnavailableError,
  scrubSecrets,
} from '../errors/index.js'
import type { KillSwitchTable } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'

/** The kill switch as the store holds it. `actor` is who engaged it, or who released it last. */
export type KillState = { engaged: boolean; reason: string | null; actor: string | null; updatedAt: Date }

/** The gateway-wide stop (DESIGN §1, ADVERSARIAL 37): while engaged nothing is signed or broadcast. */
export type KillSwitch = {
  /**
   * Reads the state from the store, every time (another replica or the CLI may have changed it).
   * @throws {StoreUnavailableError} the state cannot be read: callers deny (fail closed)
   */
  state(): Promise<KillState>
  /**
   * Returns when the switch is off; the last check before signing and before broadcasting.
   * @throws {KillSwitchEngagedError} engaged, or its state cannot be read (fail closed)
   */
  assertOff(): Promise<void>
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

  constructor(
    parameters: Pick<BaseErrorParameters, 'cause'> & ({ state: KillState } | { unreadable: string }),
  ) {
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
  }
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

  return {
    state,

    async assertOff() {
      let current: KillState
      try {
        current = await state()
      } catch (error) {
        const reason =
          error instanceof StoreUnavailableError ? error.shortMessage : 'the store did not answer'
        throw new KillSwitchEngagedError({ unreadable: reason.replace(/\.$/, ''), cause: error })
      }
      if (current.engaged) throw new KillSwitchEngagedError({ state: current })
    },

    async engage(reason, actor) {
      return write(true, text(reason, 'reason', 500), text(actor, 'actor', 200))
    },

    async release(actor) {
      return write(false, null, text(actor, 'actor', 200))
    },
  }
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
