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
