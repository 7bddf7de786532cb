/**
 * An EIP-2612 `Permit` for a USDC-like token, as the `typedData` argument of sign_typed_data (numbers as strings).
 *
 * @example await mcp.call('sign_typed_data', { chain: 'devnet', typedData: usdcPermit({ chainId, token, owner, spender, value: '1' }) })
 */
export function usdcPermit(p: {
  chainId: number
  token: `0x${string}`
  owner: `0x${string}`
  spender: `0x${string}`
  value: string
}) {
  return {
    domain: { name: 'USD Coin', version: '2', chainId: p.chainId, verifyingContract: p.token },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: p.owner, spender: p.spender, value: p.value, nonce: '0', deadline: '9999999999' },
  }
}
