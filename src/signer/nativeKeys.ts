import { createECDH, createHmac, pbkdf2Sync } from 'node:crypto'
import { type Address, getAddress, type Hex, keccak256, toHex } from 'viem'

// Key arithmetic on Node's own (native) secp256k1 and hashes: the JavaScript curve code builds a table of
// multiples of the base point on its first use (most of a CPU-second's tenth), and the JavaScript PBKDF2 of a
// mnemonic costs as much again. A gateway needs its address at start; signing comes later, off the start path.

const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const hardened = 0x80000000

/**
 * The address of a secp256k1 private key (keccak256 of the uncompressed public key, last 20 bytes, EIP-55).
 *
 * @example addressOfKey('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80') // '0xf39F…2266'
 */
export function addressOfKey(privateKey: Hex): Address {
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(Buffer.from(privateKey.slice(2), 'hex'))
  const uncompressed = ecdh.getPublicKey()
  return getAddress(`0x${keccak256(uncompressed.subarray(1)).slice(-40)}`)
}

/**
 * The private key at `m/44'/60'/0'/0/index` of a BIP-39 mnemonic (no passphrase), by BIP-32: what
 * `mnemonicToAccount(mnemonic, { addressIndex })` derives, with native PBKDF2, HMAC-SHA512 and public keys.
 *
 * @example mnemonicKey('test test … junk', 0) // the key of 0xf39F…2266
 */
export function mnemonicKey(mnemonic: string, index: number): Hex {
  const seed = pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic'.normalize('NFKD'), 2048, 64, 'sha512')
  let node = createHmac('sha512', 'Bitcoin seed').update(seed).digest()
  let key = node.subarray(0, 32)
  let chainCode = node.subarray(32)
  for (const step of [44 + hardened, 60 + hardened, hardened, 0, index]) {
    const data = Buffer.alloc(37)
    if (step >= hardened) key.copy(data, 1)
    else {
      const ecdh = createECDH('secp256k1')
      ecdh.setPrivateKey(key)
      Buffer.from(ecdh.getPublicKey(undefined, 'compressed')).copy(data, 0)
    }
    data.writeUInt32BE(step, 33)
    node = createHmac('sha512', chainCode).update(data).digest()
    const tweak = BigInt(`0x${node.subarray(0, 32).toString('hex')}`)
    const child = (tweak + BigInt(`0x${key.toString('hex')}`)) % n
    // Unreachable in practice (probability < 2^-127); BIP-32 says to skip to the next index, the caller decides.
    if (tweak >= n || child === 0n) throw new Error(`BIP-32 derivation hit an invalid key at step ${step}`)
    key = Buffer.from(child.toString(16).padStart(64, '0'), 'hex')
    chainCode = node.subarray(32)
  }
  return toHex(key)
}
