import { ValidationError } from '@ledgerline/kernel';

/**
 * What a data key is bound to. Every wrap and every unwrap carries it (as AES-GCM associated data
 * in the local key ring, as the KMS EncryptionContext `{tenant, stream}`), so a wrapped key copied
 * to another tenant's or stream's row does not unwrap. Both values are ids, never PHI: KMS logs
 * encryption contexts in clear (CloudTrail).
 */
export interface KeyContext {
  readonly tenantId: string;
  readonly streamId: string;
}

/** A data key as stored: opaque ciphertext plus the KEK (and its version) that produced it. */
export interface WrappedDataKey {
  readonly kekId: string;
  readonly kekVersion: string;
  readonly blob: Uint8Array;
}

export interface GeneratedDataKey {
  /** 32 bytes (AES-256). The caller owns this buffer and should wipe it when done. */
  readonly plaintext: Buffer;
  readonly wrapped: WrappedDataKey;
}

/** Where a rewrap goes. Without `kekVersion`: that KEK's current version. */
export interface KekTarget {
  readonly kekId: string;
  readonly kekVersion?: string;
}

export interface KekDescription {
  readonly tenantId: string;
  /** The KEK the tenant's new data keys are wrapped under (local ring id, or KMS key ARN). */
  readonly kekId: string;
  readonly currentVersion: string;
  /** Versions the provider can still unwrap with, oldest first; includes the current one. */
  readonly versions: readonly string[];
  readonly enabled: boolean;
}

export interface KekRotation {
  /** True when this call made a new KEK version current. */
  readonly created: boolean;
  readonly kek: KekDescription;
}

/**
 * Generates, wraps and unwraps data-encryption keys (DEKs) under per-tenant key-encryption keys
 * (KEKs). Adapters: the local key ring (a file encrypted under a master secret) and AWS KMS.
 *
 * Every adapter guarantees:
 * - `generateDataKey` returns 32 fresh random bytes and their wrap under the tenant's current KEK
 *   (or under `target`, which must be one of the tenant's KEK versions the provider holds:
 *   KekNotFoundError otherwise); the blob never contains the plaintext key.
 * - The `KeyContext` is bound into every wrap: `unwrap` and `rewrap` with any other tenant or
 *   stream fail with `KeyUnwrapError`, as does a blob altered in any byte.
 * - `rewrap` returns a new wrap of the same key under the target KEK (default: the tenant's current
 *   KEK version) and leaves the old wrap valid; deleting old wraps is the caller's decision.
 * - A KEK or KEK version that does not exist (or is disabled) raises `KekNotFoundError`.
 * - Transient failures are retried a bounded number of times with backoff; after that they raise
 *   `KeyProviderUnavailableError` (retryable). Nothing is retried for errors retrying cannot fix.
 * - Error messages carry ids and operation names only, never key material or blobs.
 * - Plaintext keys are never logged, persisted or cached by the adapter.
 */
export interface KeyProvider {
  readonly kind: 'local' | 'aws-kms';
  generateDataKey(context: KeyContext, target?: KekTarget): Promise<GeneratedDataKey>;
  unwrap(wrapped: WrappedDataKey, context: KeyContext): Promise<Buffer>;
  rewrap(wrapped: WrappedDataKey, context: KeyContext, target?: KekTarget): Promise<WrappedDataKey>;
  /** The tenant's KEK; `KekNotFoundError` when the tenant has none (the ring creates it on first use). */
  describeKek(tenantId: string): Promise<KekDescription>;
  /**
   * Makes a new KEK version current where the provider owns rotation (local ring: adds a version,
   * creating the KEK if needed). AWS KMS rotates outside Ledgerline (automatic or on-demand
   * rotation, or the tenant's configured key id/alias pointing at a new key): there this only
   * reports the current KEK, with `created: false`. Existing wraps stay valid either way.
   */
  rotateKek(tenantId: string): Promise<KekRotation>;
  /**
   * Destroys a KEK version that is not current, where the provider holds key material itself
   * (local ring); the caller checks first that nothing is wrapped under it. Absent for AWS KMS,
   * whose keys are deleted in KMS (ScheduleKeyDeletion).
   */
  retireKekVersion?(tenantId: string, kekVersion: string): Promise<void>;
  close(): Promise<void>;
}

/** Refuses an empty or oversized tenant/stream before any key operation. */
export function assertKeyContext(context: KeyContext): void {
  assertId(context.tenantId, 'tenantId');
  assertId(context.streamId, 'streamId');
}

export function assertId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw new ValidationError(
      `${field} must be a non-empty string of at most 512 characters`,
      field,
    );
  }
}
