/**
 * A JSON-RPC error the devnet answers on the wire (`{ code, message, data }`), with the real Solana RPC's codes:
 * -32600 invalid request, -32601 method not found, -32602 invalid params, -32002 preflight failure, -32003
 * signature verification failure, -32015 unsupported transaction version. It never leaves the devnet server as an
 * exception: the server turns it into the error member of a response.
 *
 * @example
 * throw new JsonRpcError(-32602, 'Invalid param: not a Token account')
 */
export class JsonRpcError extends Error {
  override name = 'JsonRpcError'
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
  }
}
