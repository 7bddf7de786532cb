import type { Hex } from 'viem'

/** The JSON-RPC error object an endpoint answered with, found in a viem error's `cause` chain. */
export type JsonRpcErrorInfo = { code: number; message: string; data?: unknown }

/**
 * The innermost JSON-RPC error object in `error`'s cause chain (viem wraps the endpoint's `{ code, message, data }`
 * in `RpcRequestError` and that in a typed error); undefined for transport failures, which carry no number code.
 *
 * @example jsonRpcErrorOf(error)?.code // -32601
 */
export function jsonRpcErrorOf(error: unknown): JsonRpcErrorInfo | undefined {
  let found: JsonRpcErrorInfo | undefined
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 12; depth++) {
    const { code, message, data, cause } = e as {
      code?: unknown
      message?: unknown
      data?: unknown
      cause?: unknown
    }
    if (typeof code === 'number' && typeof message === 'string') found = { code, message, data }
    e = cause
  }
  return found
}

const unsupportedText =
  /method\b.*\b(?:not found|not supported|unsupported|not available|does not exist|not whitelisted|not allowed|disabled)|unsupported method|unknown method|not implemented/i

/**
 * Whether the endpoint said it does not offer the method (JSON-RPC -32601 / -32004, or the usual wording).
 *
 * @example isUnsupportedMethod(error) // true for { code: -32601, message: 'Method not found' }
 */
export function isUnsupportedMethod(error: unknown): boolean {
  const rpc = jsonRpcErrorOf(error)
  // A revert's message is the contract's text: "method not found" there is not the endpoint speaking.
  if (!rpc || rpc.code === 3 || /revert/i.test(rpc.message)) return false
  return rpc.code === -32601 || rpc.code === -32004 || unsupportedText.test(rpc.message)
}

const invalidTxText =
  /insufficient funds|nonce too (?:low|high)|intrinsic gas|less than block base fee|fee cap|gas limit reached|exceeds block gas limit|sender not an eoa|not an eoa|gas too low/i

/**
 * Whether the endpoint refused the transaction itself as invalid (funds for value and gas, nonce, fee cap): the
 * write would fail the same way, so it is reported as a failed simulation rather than an RPC error.
 *
 * @example isInvalidTransaction(error) // true for { code: -38014, message: 'insufficient funds for gas * price + value' }
 */
export function isInvalidTransaction(error: unknown): boolean {
  const rpc = jsonRpcErrorOf(error)
  if (!rpc) return false
  return (rpc.code <= -38000 && rpc.code > -39000) || rpc.code === -32003 || invalidTxText.test(rpc.message)
}

/**
 * Revert data in an `eth_call` error (code 3, or -32000 "execution reverted" with data), if any.
 *
 * @example revertDataOf(error) // '0x08c379a0…'
 */
export function revertDataOf(error: unknown): Hex | undefined {
  const rpc = jsonRpcErrorOf(error)
  if (!rpc) return undefined
  const data = typeof rpc.data === 'string' ? rpc.data : (rpc.data as { data?: unknown } | undefined)?.data
  if (typeof data === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(data)) return data as Hex
  return undefined
}

/**
 * Whether an `eth_call` error is a revert of the call (as opposed to a refusal of the request).
 *
 * @example isRevert(error) // true for { code: 3, message: 'execution reverted', data: '0x…' }
 */
export function isRevert(error: unknown): boolean {
  const rpc = jsonRpcErrorOf(error)
  if (!rpc) return false
  return (
    rpc.code === 3 ||
    /revert|out of gas|invalid opcode|stack (?:over|under)flow|execution failed/i.test(rpc.message)
  )
}
