import { ConflictError, UnavailableError, ValidationError } from '@ledgerline/kernel';
import type { ExpectedRevision } from './event-store.port';

function describeExpected(expected: ExpectedRevision): string {
  return typeof expected === 'bigint' ? `revision ${expected.toString()}` : expected;
}

/** The stream is not where the caller expected it; `actual` says where it is. */
export class WrongExpectedRevisionError extends ConflictError {
  override readonly code = 'wrong_expected_revision';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(
      `stream ${streamId}: expected ${describeExpected(expected)}, but it is at ${
        actual === 'no_stream' ? 'no_stream' : `revision ${actual.toString()}`
      }`,
    );
  }
}

/** Some event ids of the batch were already written elsewhere (another stream, or another batch). */
export class EventIdConflictError extends ConflictError {
  override readonly code = 'event_id_conflict';
  constructor(readonly streamId: string) {
    super(`stream ${streamId}: the batch repeats event ids already written to a different place`);
  }
}

export class InvalidStreamIdError extends ValidationError {
  override readonly code = 'invalid_stream_id';
}

export class InvalidEventError extends ValidationError {
  override readonly code = 'invalid_event';
}

export class InvalidExpectedRevisionError extends ValidationError {
  override readonly code = 'invalid_expected_revision';
}

export class EventStoreUnavailableError extends UnavailableError {
  override readonly code = 'event_store_unavailable';
}
