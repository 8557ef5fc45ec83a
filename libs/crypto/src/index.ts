export type {
  KeyContext,
  WrappedDataKey,
  GeneratedDataKey,
  KekTarget,
  KekDescription,
  KekRotation,
  KeyProvider,
} from './key-provider.port';
export { assertKeyContext } from './key-provider.port';
export {
  KekNotFoundError,
  KeyUnwrapError,
  KeyProviderUnavailableError,
  KeyProviderError,
  KeyRingOpenError,
  DataKeyNotFoundError,
  DataKeyShreddedError,
  LegalHoldError,
} from './crypto.errors';
export {
  LocalKeyRing,
  type LocalKeyRingOptions,
  type OpenedKeyRing,
} from './adapters/local-key-ring.adapter';
export {
  AwsKmsKeyProvider,
  type AwsKmsKeyProviderOptions,
} from './adapters/aws-kms-key-provider.adapter';
export {
  DataKeyStore,
  type DataKeyScope,
  type DataKeyRecord,
  type StoredWrap,
  type KekRef,
  type NewDataKey,
  type ListKeysOptions,
  type ShredResult,
  type KekUsage,
  type KeyCounts,
} from './data-key-store';
export { DataKeyCache, type DataKeyCacheLimits } from './data-key-cache';
export { DataKeys, type DataKeysOptions, type SealingKey } from './data-keys';
export { LegalHolds, type LegalHold, type LegalHoldScope } from './legal-holds';
export {
  resolveMasterSecret,
  defaultMasterKeyFile,
  type MasterSecret,
  type MasterSecretSettings,
} from './master-secret';
export { cryptoManifest } from './manifest';
export {
  CryptoModule,
  openKeyProvider,
  type KeyProviderLog,
  KEY_PROVIDER,
  DATA_KEY_STORE,
  DATA_KEY_CACHE,
  DATA_KEYS,
  LEGAL_HOLDS,
  KEY_INVALIDATIONS,
  TENANT_KEKS,
} from './crypto.module';
export { TenantKeks, type RecordedKek } from './tenant-keks';
export { CurrentKekKeyProvider, FIRST_USE } from './current-kek-key-provider';
export {
  KeyInvalidations,
  KEY_INVALIDATION_CHANNEL,
  announceKekRotated,
  parseKeyInvalidation,
  type KeyInvalidation,
  type KeyInvalidationLog,
} from './key-invalidation';
export {
  rotateTenantKeys,
  type RotationOptions,
  type RotationProgress,
  type RotationResult,
} from './key-rotation';
export {
  countingKeyProvider,
  CountingDataKeyCache,
  type KeyCounter,
} from './counting-key-provider';
/** A local stand-in for AWS KMS: for tests (of this lib, and e2e tests of the CLI) only. */
export { KmsLocalEndpoint } from './testing/kms-local-endpoint';
