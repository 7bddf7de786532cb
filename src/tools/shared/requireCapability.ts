import { BaseError } from '../../errors/index.js'

/**
 * A write-side capability of the tool context, or a clear error when this gateway has none (no wallet or store).
 *
 * @example const intents = requireCapability(ctx.intents)
 * @throws {BaseError} WALLET_NOT_CONFIGURED
 */
export function requireCapability<T>(capability: T | undefined): T {
  if (!capability)
    throw new BaseError('WALLET_NOT_CONFIGURED', 'This gateway has no wallet, so it has no intents.', {
      metaMessages: ['Start it with a wallet (README, "Wallets and writes"), or on the devnet.'],
    })
  return capability
}
