import { InvalidInputError } from '../errors/index.js'

/**
 * Reads all of stdin as UTF-8, refusing more than `maxBytes` (a private key piped in, never a file's worth).
 *
 * @example const key = (await readStdinCapped(256)).trim()
 * @throws {InvalidInputError} stdin holds more than `maxBytes`
 */
export async function readStdinCapped(maxBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += buffer.length
    if (size > maxBytes)
      throw new InvalidInputError('stdin holds more than a private key.', {
        metaMessages: ['Pipe only the key: 64 hex digits, with or without 0x.'],
      })
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
