import { getAddress } from 'viem'

const hex40 = /^0x[0-9a-fA-F]{40}$/

/**
 * The one spelling of a wallet the store keys on: an EVM address in its EIP-55 form, anything else (a Solana
 * address is case-sensitive base58) as given. Without it, `0xabc…` and `0xAbC…` would get two nonce counters
 * for one account and hand out the same nonce twice. Input is expected to be validated already (EvmAddress).
 *
 * @example walletKey('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266') // '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
 */
export function walletKey(wallet: string): string {
  return hex40.test(wallet) ? getAddress(wallet.toLowerCase()) : wallet
}
