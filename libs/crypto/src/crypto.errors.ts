import {
  ConflictError,
  LedgerlineError,
  NotFoundError,
  UnavailableError,
} from '@ledgerline/kernel';

// Messages name keys, tenants, streams and operations by id only. They never carry key material,
// wrapped blobs, payloads, encryption-context values beyond ids, or a legal hold's free-text reason.

/** The KEK (or the KEK version) a wrap or a tenant refers to does not exist, or is disabled. */
export class KekNotFoundError extends NotFoundError {
  override readonly code = 'kek_not_found';
}

/**
 * A wrapped data key did not unwrap: it was tampered with, or it is presented with another
 * tenant's or stream's encryption context than the one it was wrapped under.
 */
export class KeyUnwrapError extends LedgerlineError {
  readonly code = 'key_unwrap_failed';
}

/** The key provider (KMS, the key ring file) is unreachable or overloaded, after bounded retries. */
export class KeyProviderUnavailableError extends UnavailableError {
  override readonly code = 'key_provider_unavailable';
}

/** The key provider refused for a reason retrying will not fix (access denied, misconfiguration). */
export class KeyProviderError extends LedgerlineError {
  readonly code = 'key_provider_failed';
}

/** The local key ring file cannot be decrypted: wrong master secret, or a corrupted file. */
export class KeyRingOpenError extends LedgerlineError {
  readonly code = 'key_ring_unreadable';
}

/** No data key with this id exists for the tenant and stream it was asked for. */
export class DataKeyNotFoundError extends NotFoundError {
  override readonly code: string = 'data_key_not_found';
}

/**
 * The data key was shredded: its wraps are destroyed, so what it sealed can no longer be read.
 * A DataKeyNotFoundError, so callers that only care about "no key" need not tell them apart.
 */
export class DataKeyShreddedError extends DataKeyNotFoundError {
  override readonly code = 'data_key_shredded';
}

/** A shred was refused because active legal holds cover what it would destroy. */
export class LegalHoldError extends ConflictError {
  override readonly code = 'legal_hold';
  constructor(
    readonly tenantId: string,
    readonly streamId: string,
    readonly holdIds: readonly string[],
  ) {
    super(
      `stream ${streamId} of tenant ${tenantId} is under legal hold (${holdIds.join(', ')}); nothing was shredded`,
    );
  }
}
