import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BaseError, toBaseError } from './index.js'
import { redactUrl, scrubSecrets } from './scrub.js'

describe('secrets never leave in error text (ADVERSARIAL 45)', () => {
  const key = `0x${'ab'.repeat(32)}`
  it.each([
    ['URL userinfo', 'failed: https://alice:hunter2@rpc.example.org/', /hunter2/],
    [
      'API key in path',
      'failed: https://eth-mainnet.example.com/v2/AbCdEf0123456789AbCdEf01',
      /AbCdEf0123456789AbCdEf01/,
    ],
    ['API key in query', 'failed: https://rpc.example.org/?apikey=s3cr3tvalue&x=1', /s3cr3tvalue/],
    ['private key', `signing with ${key} failed`, /abababab/],
  ])('scrubs %s', (_label, text, secret) => {
    expect(scrubSecrets(text)).not.toMatch(secret)
    expect(new BaseError('INTERNAL', text).message).not.toMatch(secret)
    expect(toBaseError(new Error(text)).message).not.toMatch(secret)
  })

  it('redacts a URL to scheme and host', () => {
    expect(redactUrl('https://u:p@rpc.example.org:8545/v2/KEY?x=1')).toBe('https://rpc.example.org:8545/…')
  })

  it('an Airlock error deep in a cause chain wins over the wrapper', () => {
    const inner = new BaseError('RPC_UNAVAILABLE', 'all endpoints down')
    const wrapped = Object.assign(new Error('wrapper'), {
      cause: Object.assign(new Error('mid'), { cause: inner }),
    })
    expect(toBaseError(wrapped)).toBe(inner)
  })
})

/** The regular-expression scrubber this file replaced: the meaning to keep (it backtracks quadratically). */
function reference(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)(:[^\s/@]*)?@/gi, '$1***@')
    .replace(/([?&](?:api[-_]?key|key|token|access[-_]?token|auth|secret|password)=)[^&#\s]+/gi, '$1***')
    .replace(/(https?:\/\/[^\s/]+\/(?:[^\s/]*\/)*?(?:v\d+|rpc|api|key)\/)([A-Za-z0-9_-]{16,})/gi, '$1***')
    .replace(/\b(0x)?[0-9a-fA-F]{64}\b/g, (m) => `${m.startsWith('0x') ? '0x' : ''}<redacted-32-bytes>`)
}

describe('scrubbing is linear in the input (ADVERSARIAL 52)', () => {
  it('gives what the regular-expression scrubber gave, on random URL-like text', () => {
    const pieces = [
      'http',
      'https',
      '://',
      'a',
      'B',
      '1',
      'v2',
      'rpc',
      'key',
      '/',
      '@',
      ':',
      ' ',
      '\u00a0',
      '?key=',
      '&',
      '#',
      '-',
      '.',
      '+',
      'x'.repeat(16),
      'ab'.repeat(32),
      '0x',
    ]
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((parts) => parts.join(''))
    fc.assert(
      fc.property(text, (t) => {
        expect(scrubSecrets(t)).toBe(reference(t))
      }),
      { numRuns: 3000 },
    )
  })

  it('handles 64 KiB and 1 MiB of the inputs that made it quadratic, still scrubbing what follows them', () => {
    const secret = 'https://alice:hunter2@rpc.example.org/v2/AbCdEf0123456789AbCdEf01?apikey=s3cr3t'
    for (const size of [64 * 1024, 1024 * 1024]) {
      const runs = [
        `0x${'ab'.repeat(size / 2 + 1)}`, // calldata: one long letter-and-digit run
        'a'.repeat(size),
        'a1'.repeat(size / 2),
        `${'a'.repeat(32)}://${'b'.repeat(size)}`,
        'http://a/'.repeat(size / 9),
        `http://h/${'s/'.repeat(size / 2)}`,
        'x://'.repeat(size / 4),
      ]
      for (const run of runs) {
        const out = scrubSecrets(`${run} ${secret}`)
        expect(out.startsWith(run.slice(0, 100))).toBe(true)
        expect(out.endsWith('https://***@rpc.example.org/v2/***?apikey=***')).toBe(true)
      }
    }
  })
})
