// The signer module's public surface. Key material never crosses it: `decryptKey` and `solanaKeyFromText` stay
// internal to src/signer.
export { defaultScryptN, type EncryptKeyOptions, encryptKey, type KeystoreV3 } from './keystore.js'
export {
  type CreateSignerParameters,
  createSigner,
  type DelegatingSigner,
  type DelegationToSign,
  type Signer,
  type TypedDataToSign,
} from './signer.js'
export { type CreateSolanaSignerParameters, createSolanaSigner, type SolanaSigner } from './solanaSigner.js'
export {
  type CreateWalletStoreParameters,
  createWalletStore,
  defaultDataDir,
  type EvmWalletEntry,
  minPasswordLength,
  type SolanaWalletEntry,
  type StoredKeystore,
  type WalletEntry,
  type WalletFamily,
  type WalletStore,
} from './walletStore.js'
