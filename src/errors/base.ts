import { type ErrorCode, errorCodes } from './codes.js'
import { scrubSecrets } from './scrub.js'

/** Options every Airlock error accepts. */
export type BaseErrorParameters = {
  /** Extra lines that tell the user what to do next. */
  metaMessages?: readonly string[] | undefined
  /** Technical detail (already free of secrets), shown after the short message. */
  details?: string | undefined
  /** The input field the error is about, as a dotted path (`args.0`, `to`). */
  field?: string | undefined
  cause?: unknown
}

/**
 * Root of every error Airlock raises. `shortMessage` says what happened; `metaMessages` say what to do.
 * Messages pass through {@link scrubSecrets} so credentials in URLs and key material never leave.
 *
 * @example
 * throw new InvalidAddressError({ value: '0x12', field: 'address' })
 */
export class BaseError extends Error {
  override name = 'AirlockError'
  readonly code: ErrorCode
  readonly shortMessage: string
  readonly details: string | undefined
  readonly metaMessages: readonly string[]
  readonly field: string | undefined

  constructor(code: ErrorCode, shortMessage: string, parameters: BaseErrorParameters = {}) {
    const short = scrubSecrets(shortMessage)
    const details = parameters.details === undefined ? undefined : scrubSecrets(parameters.details)
    const meta = (parameters.metaMessages ?? []).map(scrubSecrets)
    const message = [short, ...(meta.length ? ['', ...meta] : []), ...(details ? ['', `Details: ${details}`] : [])]
    super(message.join('\n'), parameters.cause === undefined ? undefined : { cause: parameters.cause })
    this.code = code
    this.shortMessage = short
    this.details = details
    this.metaMessages = meta
    this.field = parameters.field
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return errorCodes[this.code]
  }

  /** The JSON shape a client receives: code, message, hints, and the field. Never the cause chain. */
  toJSON(): { code: ErrorCode; message: string; hints?: readonly string[]; field?: string } {
    return {
      code: this.code,
      message: this.shortMessage,
      ...(this.metaMessages.length ? { hints: this.metaMessages } : {}),
      ...(this.field ? { field: this.field } : {}),
    }
  }
}

/** Anything thrown, turned into a {@link BaseError}; unknown errors become `INTERNAL` with a scrubbed message. */
export function toBaseError(error: unknown): BaseError {
  if (error instanceof BaseError) return error
  const text = error instanceof Error ? error.message : String(error)
  return new BaseError('INTERNAL', 'Internal error while handling the request.', {
    details: text.split('\n')[0]?.slice(0, 300),
    metaMessages: ['Retry; if it persists, check the gateway log.'],
    cause: error,
  })
}
