/**
 * The tools that serve Solana clusters too (DESIGN §8). Any other tool given a Solana `chain` answers with a clear
 * error naming the family, before its EVM-shaped input (0x addresses, ABIs) is even parsed.
 */
export const solanaTools: ReadonlySet<string> = new Set([
  'list_chains',
  'get_balance',
  'get_token_balances',
  'get_portfolio',
  'get_token_info',
  'get_transaction',
  'transfer',
  'simulate',
  'get_intent',
  'list_intents',
  'cancel_intent',
])
