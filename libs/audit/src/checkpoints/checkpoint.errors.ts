import { ConflictError, LedgerlineError, NotFoundError } from '@ledgerline/kernel';

/** An event in the log carries no well-formed seal, so it cannot become a leaf of the tree. */
export class UnsealedEventError extends LedgerlineError {
  readonly code = 'event_unsealed';
  constructor(
    readonly position: string,
    readonly streamId: string,
    readonly revision: bigint,
  ) {
    super(
      `event at position ${position} (stream ${streamId} revision ${revision.toString()}) has no seal: refusing to checkpoint it`,
    );
  }
}

/** An event's content no longer matches its seal hash: the checkpoint job will not sign over it. */
export class AlteredEventError extends LedgerlineError {
  readonly code = 'event_altered';
  constructor(
    readonly position: string,
    readonly streamId: string,
    readonly revision: bigint,
  ) {
    super(
      `event at position ${position} (stream ${streamId} revision ${revision.toString()}) does not match its seal hash: refusing to checkpoint it`,
    );
  }
}

/** Another checkpoint job extended the tree meanwhile; running again folds what is left. */
export class CheckpointRaceError extends ConflictError {
  override readonly code = 'checkpoint_race';
}

/** The stored tree does not agree with itself (leaves, frontier, signed root): run verify-log. */
export class MerkleLogCorruptError extends LedgerlineError {
  readonly code = 'merkle_log_corrupt';
}

/** Nothing has been checkpointed yet, or the signing key is missing. */
export class NoCheckpointError extends NotFoundError {
  override readonly code = 'no_checkpoint';
}

/** The signing key or certificate cannot be used. */
export class SigningKeyError extends LedgerlineError {
  readonly code = 'signing_key_invalid';
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** True when the file is simply not there (a first start may generate it). */
    readonly missing = false,
  ) {
    super(message, options);
  }
}
