import { AccountRole, address, createNoopSigner, type Instruction } from '@solana/kit'
import { AuthorityType, getCloseAccountInstruction, getSetAuthorityInstruction } from '@solana-program/token'
import { describe, expect, it } from 'vitest'
import { compilePolicy } from '../../policy/compilePolicy.js'
import { evaluatePolicy } from '../../policy/evaluate.js'
import { parsePolicy } from '../../policy/policySchema.js'
import type { PolicyFacts } from '../../policy/types.js'
import { compileSolana, instructionFacts, invokedPrograms, transferInstructions } from './transaction.js'

// ADVERSARIAL 62: what a Solana transaction's own instructions do becomes facts the policy and the guard decide on.
const wallet = 'GsbwXfJraMomNxBcjYLcG3mxkBUiyWXAB32fGbSMQRdW'
const other = '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin'
const unknownProgram = 'Hook111111111111111111111111111111111111111'
const lifetime = { blockhash: '4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM', lastValidBlockHeight: 150n }
const messageOf = (instructions: Instruction[]) =>
  compileSolana(wallet, instructions, lifetime).transaction.messageBytes as unknown as Uint8Array

describe('instruction facts', () => {
  it('a transfer calls only the standard programs and changes no authority', async () => {
    const sol = await transferInstructions({ wallet, to: other, amount: 1n, salt: 7 })
    expect(instructionFacts(messageOf(sol.instructions))).toEqual({
      programs: ['compute-budget', 'system'],
      authorityChanges: 0,
      accountCloses: 0,
    })
    const token = await transferInstructions({
      wallet,
      to: other,
      amount: 1n,
      mint: { address: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', program: 'spl-token', decimals: 6 },
      salt: 7,
    })
    expect(instructionFacts(messageOf(token.instructions)).programs).toEqual([
      'compute-budget',
      'associated-token',
      'spl-token',
    ])
  })

  it('two identical transfers get different messages (a cluster keeps one transaction per signature)', async () => {
    const a = await transferInstructions({ wallet, to: other, amount: 1n, salt: 1 })
    const b = await transferInstructions({ wallet, to: other, amount: 1n, salt: 2 })
    expect(Buffer.from(messageOf(a.instructions))).not.toEqual(Buffer.from(messageOf(b.instructions)))
  })

  it('counts authority changes and account closes, and names unknown programs by address', () => {
    const owner = createNoopSigner(address(wallet))
    const facts = instructionFacts(
      messageOf([
        getSetAuthorityInstruction({
          owned: address(other),
          owner,
          authorityType: AuthorityType.AccountOwner,
          newAuthority: address(other),
        }),
        getCloseAccountInstruction({ account: address(other), destination: address(other), owner }),
        {
          programAddress: address(unknownProgram),
          accounts: [{ address: address(wallet), role: AccountRole.WRITABLE_SIGNER }],
          data: new Uint8Array([1]),
        },
      ]),
    )
    expect(facts).toEqual({ programs: ['spl-token', unknownProgram], authorityChanges: 1, accountCloses: 1 })
  })

  it('reads invoked programs, inner calls included, from simulation logs', () => {
    expect(
      invokedPrograms([
        'Program TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb invoke [1]',
        `Program ${unknownProgram} invoke [2]`,
        'Program log: Instruction: TransferChecked',
        `Program ${unknownProgram} success`,
      ]),
    ).toEqual(['token-2022', unknownProgram])
  })
})

describe('the policy on Solana programs and token risks', () => {
  const facts = (extra: Partial<PolicyFacts>): PolicyFacts => ({
    operation: 'transfer',
    chain: 'solana-local',
    chainId: 0x534f4c04,
    caip2: 'solana:3Rg33qsav8N4m3DEMzzPisgmeiVa7vzU',
    wallet: wallet as never,
    agent: 'local',
    to: other as never,
    functions: [],
    value: { raw: 0n, decimals: 9 },
    amount: { raw: 1_000_000n, decimals: 6 },
    addressBookListed: true,
    outflows: [],
    now: new Date('2026-12-02T12:00:00Z'),
    programs: ['compute-budget', 'associated-token', 'spl-token'],
    tokenRisks: [],
    ...extra,
  })
  const policy = compilePolicy(
    parsePolicy({
      version: 1,
      rules: [
        { id: 'deny-delegates', effect: 'deny', match: { tokenRisks: ['permanent-delegate'] } },
        {
          id: 'small',
          effect: 'allow',
          match: { chain: ['solana:3Rg33qsav8N4m3DEMzzPisgmeiVa7vzU'], to: [other] },
        },
        {
          id: 'with-hook',
          effect: 'allow',
          match: {
            to: [other],
            programs: ['spl-token', 'compute-budget', 'associated-token', unknownProgram],
          },
        },
      ],
    }),
  )

  it('allows a transfer that calls only standard programs; a program no rule names is denied (ADVERSARIAL 62)', () => {
    expect(evaluatePolicy(policy, facts({})).effect).toBe('allow')
    const noRule = compilePolicy(
      parsePolicy({
        version: 1,
        rules: [{ id: 'small', effect: 'allow', match: { chain: ['solana-local'], to: [other] } }],
      }),
    )
    const hooked = evaluatePolicy(
      noRule,
      facts({ programs: ['spl-token', 'Other11111111111111111111111111111111111111'] }),
    )
    expect(hooked.effect).toBe('deny')
    expect(hooked.nearest?.failing.join(' ')).toMatch(/Other1111.*match\.programs/)
    // A rule that names the program allows it.
    const named = evaluatePolicy(policy, facts({ programs: ['spl-token', unknownProgram] }))
    expect(named).toMatchObject({ effect: 'allow', ruleIds: ['with-hook'] })
  })

  it('an allow rule naming neither a chain nor programs covers EVM only: an EVM policy never allows SOL by accident', () => {
    const evmOnly = compilePolicy(
      parsePolicy({
        version: 1,
        rules: [{ id: 'any-native', effect: 'allow', match: { token: ['native'] } }],
      }),
    )
    const d = evaluatePolicy(evmOnly, facts({ programs: ['compute-budget', 'system'] }))
    expect(d.effect).toBe('deny')
    expect(d.nearest?.failing.join(' ')).toMatch(/covers EVM chains only/)
    // The same rule still allows an EVM write (no program facts).
    expect(
      evaluatePolicy(
        evmOnly,
        facts({ programs: undefined, chain: 'devnet', chainId: 31337, caip2: undefined }),
      ).effect,
    ).toBe('allow')
  })

  it('a deny rule naming programs denies a write that calls any of them', () => {
    const p = compilePolicy(
      parsePolicy({
        version: 1,
        rules: [
          { id: 'no-2022', effect: 'deny', match: { programs: ['token-2022'] } },
          {
            id: 'all-solana',
            effect: 'allow',
            match: {
              chain: ['solana-local'],
              programs: ['compute-budget', 'associated-token', 'spl-token', 'token-2022'],
            },
          },
        ],
      }),
    )
    expect(
      evaluatePolicy(p, facts({ programs: ['compute-budget', 'associated-token', 'token-2022'] })),
    ).toMatchObject({
      effect: 'deny',
      ruleIds: ['no-2022'],
    })
    expect(evaluatePolicy(p, facts({})).effect).toBe('allow')
  })

  it('matches a Solana chain by its CAIP-2 id and addresses case-exactly (base58 is case-sensitive)', () => {
    const swapped = other.replace('x', 'X')
    expect(evaluatePolicy(policy, facts({ to: swapped as never })).effect).toBe('deny')
  })

  it('denies a token risk a deny rule names', () => {
    const d = evaluatePolicy(policy, facts({ tokenRisks: ['permanent-delegate'] }))
    expect(d).toMatchObject({ effect: 'deny', ruleIds: ['deny-delegates'] })
  })
})
