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
    const message = [
      short,
      ...(meta.length ? ['', ...meta] : []),
      ...(details ? ['', `Details: ${details}`] : []),
    ]
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

/**
 * Anything thrown, turned into a {@link BaseError}. An Airlock error anywhere in the `cause` chain wins (viem
 * wraps transport errors); a viem revert becomes `CONTRACT_REVERTED` with its reason stripped of control
 * characters; anything else becomes `INTERNAL` with a scrubbed one-line summary.
 *
 * @example return errorResult(toBaseError(error))
 */
export function toBaseError(error: unknown): BaseError {
  let revert: string | undefined
  let rpcMessage: string | undefined
  let offchainLookup = false
  for (let e: unknown = error, depth = 0; e && depth < 12; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BaseError) return e
    const name = (e as { name?: string }).name
    if (
      name === 'ContractFunctionRevertedError' ||
      name === 'CallExecutionError' ||
      name === 'ExecutionRevertedError'
    ) {
      const reason = (e as { reason?: string; shortMessage?: string }).reason
      revert ??= reason ?? (e as { shortMessage?: string }).shortMessage
      if ((e as { signature?: unknown }).signature === offchainLookupSelector) offchainLookup = true
    }
    if (name === 'ContractFunctionZeroDataError')
      revert ??= 'no data returned (is there a contract at this address?)'
    if (name === 'RpcRequestError' || name === 'InvalidInputRpcError' || name === 'MethodNotFoundRpcError')
      rpcMessage ??= (e as { shortMessage?: string }).shortMessage
  }
  if (offchainLookup)
    return new BaseError(
      'CONTRACT_REVERTED',
      'The contract asked for an off-chain lookup (EIP-3668 CCIP-Read), which the gateway does not follow for contract reads.',
      {
        metaMessages: [
          'The contract answers only through a gateway URL it names; read it another way, or use a contract that answers on-chain.',
        ],
        cause: error,
      },
    )
  if (revert !== undefined)
    return new BaseError(
      'CONTRACT_REVERTED',
      `The contract call reverted: "${clean(revert).replaceAll('"', "'")}" [untrusted revert reason].`,
      {
        metaMessages: ['Check the address, the function signature, the arguments and the chain.'],
        cause: error,
      },
    )
  if (rpcMessage !== undefined)
    return new BaseError('RPC_ERROR', `The RPC endpoint returned an error: ${clean(rpcMessage)}.`, {
      cause: error,
    })
  const text = error instanceof Error ? error.message : String(error)
  return new BaseError('INTERNAL', 'Internal error while handling the request.', {
    details: clean(text.split('\n')[0] ?? ''),
    metaMessages: ['Retry; if it persists, check the gateway log.'],
    cause: error,
  })
}

/** The selector of EIP-3668's `OffchainLookup(address,string[],bytes,bytes4,bytes)` error. */
const offchainLookupSelector = '0x556f1830'

/** Chain-supplied text inside an error: control/bidi/zero-width characters removed, length capped. */
function clean(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/gu, '')
    .slice(0, 300)
}
