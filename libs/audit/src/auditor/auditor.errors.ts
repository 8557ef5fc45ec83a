import { ValidationError } from '@ledgerline/kernel';

// Messages name fields and limits only: never an id, a time or a cursor the caller sent.

/** A page size above the cap (or below 1). */
export class AuditPageSizeError extends ValidationError {
  override readonly code = 'page_size_out_of_range';
  constructor(readonly limit: number) {
    super(`page size must be an integer from 1 to ${limit}`, 'first');
  }
}

/** A paging cursor this API did not hand out. */
export class InvalidAuditCursorError extends ValidationError {
  override readonly code = 'invalid_cursor';
  constructor() {
    super('after is not a cursor of the audit log', 'after');
  }
}

/** `from` is not before `to`, or a bound is not a valid time. */
export class InvalidTimeRangeError extends ValidationError {
  override readonly code = 'invalid_time_range';
  constructor(field: 'from' | 'to') {
    super('the time range must have from before to, both valid times', field);
  }
}

/** A filter value that can never match: empty, too long, or not printable. */
export class InvalidAuditFilterError extends ValidationError {
  override readonly code = 'invalid_filter';
  constructor(field: string) {
    super(`${field} is not a valid id`, field);
  }
}

/** `asOf` is neither a position token nor an ISO 8601 time with its zone. */
export class InvalidAsOfError extends ValidationError {
  override readonly code = 'invalid_as_of';
  constructor(field = 'asOf') {
    super(
      `${field} must be an ISO 8601 time with its zone (2026-11-25T10:00:00Z), a date (2026-11-25), or a position token (<commit>.<prepare>)`,
      field,
    );
  }
}

/** Why a stated reason for reading content was refused (the edge answers it as `reason`). */
export type ContentReasonProblem = 'empty' | 'too_long' | 'control_character';

/** The reason an auditor stated for reading content is empty, too long or not plain text. */
export class InvalidContentReasonError extends ValidationError {
  override readonly code = 'invalid_content_reason';
  constructor(
    readonly problem: ContentReasonProblem,
    readonly limit?: number,
  ) {
    super(
      `contentReason: ${problem}${limit === undefined ? '' : ` (limit ${limit})`}`,
      'contentReason',
    );
  }
}
