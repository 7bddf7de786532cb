import type { IncomingMessage } from 'node:http'

/**
 * A Node request's headers as a fetch `Headers`, every value kept (repeated headers appended in order).
 *
 * @example const headers = headersOf(req) // headers.get('authorization')
 */
export function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers()
  for (const [name, values] of Object.entries(req.headersDistinct))
    for (const value of values ?? []) headers.append(name, value)
  return headers
}
