import { BaseError } from '../../errors/index.js'
import type { WritePath } from '../../pipeline/write.js'
import type { ToolContext } from '../context.js'

/** The write path, or a clear error when this gateway has none. */
export function requireWrites(ctx: ToolContext): WritePath {
  if (!ctx.writes)
    throw new BaseError('WALLET_NOT_CONFIGURED', 'This gateway has no wallet, so it has no intents.', {
      metaMessages: ['Start it with a wallet (README, "Wallets and writes"), or on the devnet.'],
    })
  return ctx.writes
}
