/** Program ids the gateway itself builds instructions for or reads accounts of (base58). */
export const programIds = {
  system: '11111111111111111111111111111111',
  token: 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA',
  token2022: 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb',
  associatedToken: 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL',
  computeBudget: 'ComputeBudget111111111111111111111111111111',
} as const

/** Names the policy's `programs` facts use for well-known programs; any other program is its address. */
export const programNames: Readonly<Record<string, string>> = {
  [programIds.system]: 'system',
  [programIds.token]: 'spl-token',
  [programIds.token2022]: 'token-2022',
  [programIds.associatedToken]: 'associated-token',
  [programIds.computeBudget]: 'compute-budget',
}

/** The token program a mint belongs to, by the mint account's owner. */
export type TokenProgram = 'spl-token' | 'token-2022'

export function tokenProgramOf(owner: string): TokenProgram | undefined {
  return owner === programIds.token ? 'spl-token' : owner === programIds.token2022 ? 'token-2022' : undefined
}

export function tokenProgramId(program: TokenProgram): string {
  return program === 'spl-token' ? programIds.token : programIds.token2022
}
