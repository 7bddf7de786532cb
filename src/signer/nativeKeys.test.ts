import { generatePrivateKey, mnemonicToAccount, privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { devnetMnemonic } from '../devnet/anvil.js'
import { addressOfKey, mnemonicKey } from './nativeKeys.js'

describe('native key derivation', () => {
  it("derives the same keys as viem (BIP-39 seed, BIP-32 path m/44'/60'/0'/0/i) for devnet and random mnemonics", () => {
    const other = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
    for (const mnemonic of [devnetMnemonic, other])
      for (const index of [0, 1, 7, 9, 1000]) {
        const expected = mnemonicToAccount(mnemonic, { addressIndex: index }).getHdKey().privateKey!
        expect(mnemonicKey(mnemonic, index), `${index}`).toBe(`0x${Buffer.from(expected).toString('hex')}`)
      }
    // The well-known first devnet account.
    expect(addressOfKey(mnemonicKey(devnetMnemonic, 0))).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
  })

  it("gives a key's address as viem does (checksummed)", () => {
    for (let i = 0; i < 20; i++) {
      const key = generatePrivateKey()
      expect(addressOfKey(key)).toBe(privateKeyToAddress(key))
    }
  })
})
