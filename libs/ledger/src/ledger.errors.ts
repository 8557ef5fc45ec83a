import { LedgerlineError } from '@ledgerline/kernel';

export type IntegrityFailure =
  'seal_missing' | 'hash_mismatch' | 'chain_broken' | 'stream_truncated' | 'decryption_failed';

/**
 * A stored event failed verification: altered, moved, removed or reordered. It names the stream
 * and revision, never the payload; the event is never served as data.
 */
export class IntegrityError extends LedgerlineError {
  readonly code = 'integrity_violation';
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly failure: IntegrityFailure,
  ) {
    super(
      `integrity check failed for stream ${streamId} at revision ${revision.toString()}: ${failure}`,
    );
  }
}
