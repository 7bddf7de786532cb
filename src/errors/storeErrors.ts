import { BaseError, type BaseErrorParameters } from './base.js'

type Extra = Pick<BaseErrorParameters, 'cause' | 'details' | 'field'>

/**
 * The store (PGlite data directory or the PostgreSQL server of `DATABASE_URL`) could not be opened or reached.
 * `target` is already redacted: never a password.
 */
export class StoreUnavailableError extends BaseError {
  override name = 'StoreUnavailableError'
  constructor({
    target,
    reason,
    metaMessages,
    ...rest
  }: Extra & { target: string; reason: string; metaMessages?: readonly string[] | undefined }) {
    super('STORE_UNAVAILABLE', `The store at ${target} is unavailable: ${reason}.`, {
      ...rest,
      metaMessages: metaMessages ?? [
        'Check DATABASE_URL (host, port, user, password, database) and that the server is running,',
        'or unset DATABASE_URL to use the embedded store in AIRLOCK_DATA_DIR (default ~/.airlock).',
      ],
    })
  }
}

/** An intent cannot make this move: the state machine in `src/txs/intentStatus.ts` does not allow it. */
export class IllegalTransitionError extends BaseError {
  override name = 'IllegalTransitionError'
  constructor({
    id,
    from,
    to,
    allowed,
    ...rest
  }: Extra & { id: string; from: string; to: string; allowed: readonly string[] }) {
    super('CONFLICT', `Intent ${id} cannot move from "${from}" to "${to}".`, {
      ...rest,
      metaMessages: [
        allowed.length
          ? `From "${from}" an intent may move to: ${allowed.join(', ')}.`
          : `"${from}" is final: the intent does not move any more.`,
        'Nothing was changed.',
      ],
    })
  }
}

/** The intent was not in the status the caller expected: another process (or call) moved it first. */
export class IntentConflictError extends BaseError {
  override name = 'IntentConflictError'
  constructor({ id, expected, actual, ...rest }: Extra & { id: string; expected: string; actual: string }) {
    super('CONFLICT', `Intent ${id} is "${actual}", not "${expected}": another call changed it first.`, {
      ...rest,
      metaMessages: ['Nothing was changed. Read the intent again and decide from its current status.'],
    })
  }
}

/** An idempotency key was reused for a different request. */
export class IdempotencyKeyReusedError extends BaseError {
  override name = 'IdempotencyKeyReusedError'
  constructor({ key, intentId, ...rest }: Extra & { key: string; intentId: string }) {
    super(
      'CONFLICT',
      `Idempotency key "${key.slice(0, 80)}" was already used for a different request (intent ${intentId}).`,
      {
        ...rest,
        field: rest.field ?? 'idempotencyKey',
        metaMessages: [
          'Send the same request again to get the same intent, or use a new key for a new request.',
          'Nothing was created.',
        ],
      },
    )
  }
}

/** A nonce operation was refused: the intent cannot take or give back this nonce. */
export class NonceConflictError extends BaseError {
  override name = 'NonceConflictError'
  constructor({
    reason,
    metaMessages,
    ...rest
  }: Extra & { reason: string; metaMessages?: readonly string[] | undefined }) {
    super('CONFLICT', `Nonce refused: ${reason}.`, {
      ...rest,
      metaMessages: metaMessages ?? ['Nothing was changed.'],
    })
  }
}
