// The signer module's public surface. Key material never crosses it: `decryptKey` stays internal to src/signer.
export { defaultScryptN, type EncryptKeyOptions, encryptKey, type KeystoreV3 } from './keystore.js'
export {
  type CreateSignerParameters,
  createSigner,
  type DelegatingSigner,
  type DelegationToSign,
  type Signer,
  type TypedDataToSign,
} from './signer.js'
export {
  type CreateWalletStoreParameters,
  createWalletStore,
  defaultDataDir,
  minPasswordLength,
  type StoredKeystore,
  type WalletEntry,
  type WalletStore,
} from './walletStore.js'
