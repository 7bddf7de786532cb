/**
 * A policy that allows every write (still simulated, still refused when the simulation reverts or the recipient is
 * always a mistake): for tests of the write path itself, not of the policy.
 */
export const allowAll = {
  version: 1,
  rules: [{ id: 'allow-all', effect: 'allow', match: {} }],
} as const
