import { getAddress } from 'viem'
import { describe, expect, test } from 'vitest'
import { InvalidConfigError } from '../errors/index.js'
import { parsePolicy, windowSeconds } from './policySchema.js'

const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'
const rule = (extra: Record<string, unknown>) => ({
  version: 1,
  rules: [{ id: 'r', effect: 'allow', ...extra }],
})
const match = (m: Record<string, unknown>) => rule({ match: m })

function errorOf(value: unknown): InvalidConfigError {
  try {
    parsePolicy(value)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError)
    return error as InvalidConfigError
  }
  throw new Error('the policy was accepted')
}

describe('parsePolicy names the bad field and says what to fix', () => {
  test.each<[string, unknown, string, RegExp]>([
    ['version 2', { version: 2, rules: [] }, 'policy.version', /version must be 1/],
    ['missing rules', { version: 1 }, 'policy.rules', /missing; give a list of rules/],
    ['not an object', 'allow everything', 'policy', /JSON object/],
    ['unknown top-level key', { version: 1, rules: [], rule: [] }, 'policy.rule', /unknown field "rule"/],
    ['unknown match key', match({ recipient: [USDC] }), 'policy.rules[0].match.recipient', /unknown field/],
    [
      'broken checksum',
      match({ to: ['0xD8dA6BF26964aF9D7eEd9e10e89A5ED2D02C1F0E'] }),
      'policy.rules[0].match.to[0]',
      /checksum is wrong/,
    ],
    ['exponent amount', match({ amount: { lte: '1e3' } }), 'policy.rules[0].match.amount.lte', /exponent/],
    ['signed amount', match({ value: { gt: '-1' } }), 'policy.rules[0].match.value.gt', /sign/],
    ['spaced amount', match({ amount: { lte: ' 1 ' } }), 'policy.rules[0].match.amount.lte', /spaces/],
    ['number amount', match({ amount: { lte: 5 } }), 'policy.rules[0].match.amount.lte', /not a JSON number/],
    ['empty bounds', match({ amount: {} }), 'policy.rules[0].match.amount', /at least one bound/],
    ['empty range', match({ amount: { gt: '5', lte: '3' } }), 'policy.rules[0].match.amount', /no amount/],
    [
      'duplicate rule ids',
      {
        version: 1,
        rules: [
          { id: 'a', effect: 'allow' },
          { id: 'b', effect: 'deny' },
          { id: 'a', effect: 'deny' },
        ],
      },
      'policy.rules[2].id',
      /"a" is used twice/,
    ],
    [
      'uppercase rule id',
      { version: 1, rules: [{ id: 'Allow', effect: 'allow' }] },
      'policy.rules[0].id',
      /a-z/,
    ],
    ['bad effect', { version: 1, rules: [{ id: 'a', effect: 'permit' }] }, 'policy.rules[0].effect', /allow/],
    [
      'hours reversed',
      match({ time: { hoursUtc: [18, 8] } }),
      'policy.rules[0].match.time.hoursUtc',
      /from must be before to/,
    ],
    ['hour 25', match({ time: { hoursUtc: [8, 25] } }), 'policy.rules[0].match.time.hoursUtc[1]', /0 to 24/],
    ['bad weekday', match({ time: { days: ['monday'] } }), 'policy.rules[0].match.time.days[0]', /"mon"/],
    ['empty list', match({ chain: [] }), 'policy.rules[0].match.chain', /empty list matches nothing/],
    ['bad operation', match({ operation: ['send'] }), 'policy.rules[0].match.operation[0]', /transfer/],
    [
      'opaque function',
      match({ function: ['opaque'] }),
      'policy.rules[0].match.function[0]',
      /never matches/,
    ],
    [
      'garbage function',
      match({ function: ['transfer(('] }),
      'policy.rules[0].match.function[0]',
      /signature/,
    ],
    ['bad token', match({ token: ['eth'] }), 'policy.rules[0].match.token[0]', /"native"/],
    [
      'bad window',
      rule({ limits: [{ id: 'l', metric: 'count', window: '1 day', max: '3' }] }),
      'policy.rules[0].limits[0].window',
      /"30s", "15m", "24h" or "7d"/,
    ],
    [
      'window over a year',
      rule({ limits: [{ id: 'l', metric: 'count', window: '367d', max: '3' }] }),
      'policy.rules[0].limits[0].window',
      /366d/,
    ],
    [
      'duplicate limit ids',
      rule({
        limits: [
          { id: 'l', metric: 'count', window: '1h', max: '3' },
          { id: 'l', metric: 'count', window: '1d', max: '9' },
        ],
      }),
      'policy.rules[0].limits[1].id',
      /used twice in this rule/,
    ],
    [
      'outflow limit without a token',
      rule({ limits: [{ id: 'l', metric: 'outflow', window: '1h', max: '3' }] }),
      'policy.rules[0].limits[0].token',
      /match.token names exactly one/,
    ],
    [
      'token on a count limit',
      rule({ limits: [{ id: 'l', metric: 'count', token: 'native', window: '1h', max: '3' }] }),
      'policy.rules[0].limits[0].token',
      /takes no token/,
    ],
    [
      'fractional count',
      rule({ limits: [{ id: 'l', metric: 'count', window: '1h', max: '2.5' }] }),
      'policy.rules[0].limits[0].max',
      /whole number/,
    ],
    [
      'limits on a deny rule',
      {
        version: 1,
        rules: [{ id: 'd', effect: 'deny', limits: [{ id: 'l', metric: 'count', window: '1h', max: '1' }] }],
      },
      'policy.rules[0].limits',
      /only to allow rules/,
    ],
  ])('%s', (_name, value, field, message) => {
    const error = errorOf(value)
    expect(error.field).toBe(field)
    expect(error.shortMessage).toContain(`field "${field}"`)
    expect(error.shortMessage).toMatch(message)
  })

  test('the source is named', () => {
    expect(() => parsePolicy({ version: 3, rules: [] }, 'policy file /tmp/p.json')).toThrow(
      /Invalid policy file \/tmp\/p.json: field "policy.version"/,
    )
  })
})

describe('parsePolicy normalizes what it accepts', () => {
  test('addresses are checksummed, signatures canonical, chain names lowercase', () => {
    const policy = parsePolicy(
      match({
        chain: ['Base', 8453, 'eip155:1'],
        to: [USDC],
        token: ['native', USDC],
        function: ['transfer(address to, uint amount)', 'function approve(address,uint256)'],
      }),
    )
    expect(policy.rules[0]!.match).toEqual({
      chain: ['base', '8453', 'eip155:1'],
      to: [getAddress(USDC)],
      token: ['native', getAddress(USDC)],
      function: ['transfer(address,uint256)', 'approve(address,uint256)'],
    })
  })

  test('an outflow limit may omit its token when the rule pins exactly one', () => {
    expect(() =>
      parsePolicy(
        rule({
          match: { token: [USDC] },
          limits: [{ id: 'daily', metric: 'outflow', window: '24h', max: '10' }],
        }),
      ),
    ).not.toThrow()
  })

  test('an empty rule list is a valid policy (it denies every write)', () => {
    expect(parsePolicy({ version: 1, rules: [] }).rules).toEqual([])
  })
})

test('windowSeconds reads s, m, h and d', () => {
  expect([windowSeconds('30s'), windowSeconds('15m'), windowSeconds('24h'), windowSeconds('7d')]).toEqual([
    30, 900, 86_400, 604_800,
  ])
  expect(windowSeconds('1w')).toBeUndefined()
})
