import { DevnetError } from '../errors/index.js'

/** One JSON-RPC call: a method and its params. */
export type JsonRpcCall = { method: string; params?: readonly unknown[] }

type JsonRpcResponse = {
  id: number
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/**
 * Sends JSON-RPC calls to the devnet node in ONE HTTP request (a JSON-RPC batch) and returns the results in call
 * order. Deliberately minimal (no retries, no client state): the devnet is a local anvil and startup speed matters.
 *
 * @example
 * const [chainId, accounts] = await jsonRpc('http://127.0.0.1:8545', [{ method: 'eth_chainId' }, { method: 'eth_accounts' }])
 * @throws {DevnetError} the node is unreachable or any call returns a JSON-RPC error
 */
export async function jsonRpc(
  rpcUrl: string,
  calls: readonly JsonRpcCall[],
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<unknown[]> {
  if (calls.length === 0) return []
  const body = calls.map((c, id) => ({ jsonrpc: '2.0', id, method: c.method, params: c.params ?? [] }))
  let responses: JsonRpcResponse[]
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    responses = (await res.json()) as JsonRpcResponse[]
  } catch (error) {
    throw new DevnetError('The devnet node did not answer.', {
      details: error instanceof Error ? error.message : String(error),
      metaMessages: ['Check that anvil is still running.'],
      cause: error,
    })
  }
  const byId = new Map(responses.map((r) => [r.id, r]))
  return calls.map((call, id) => {
    const response = byId.get(id)
    if (!response) throw new DevnetError(`The devnet node sent no answer to ${call.method}.`)
    if (response.error) {
      throw new DevnetError(`The devnet node rejected ${call.method}: ${response.error.message}`, {
        details:
          response.error.data === undefined ? undefined : JSON.stringify(response.error.data).slice(0, 500),
      })
    }
    return response.result
  })
}
