import { ConflictError, LedgerlineError, NotFoundError, ValidationError } from '@ledgerline/kernel';

// Messages carry ids, counts and limits only: never text, titles, emoji or anything a user typed.

/**
 * The conversation's events can no longer be opened (their data keys were shredded) and no
 * readable snapshot covers them, so its state cannot be rebuilt: commands on it are refused.
 */
export class ConversationShreddedError extends LedgerlineError {
  readonly code = 'conversation_shredded';
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
  ) {
    super(
      `conversation stream ${streamId}: event ${revision.toString()} was shredded and no snapshot covers it; the conversation can no longer be changed`,
    );
  }
}

/** Other writers kept appending to the conversation while this command retried. Safe to retry. */
export class ConversationBusyError extends ConflictError {
  override readonly code = 'conversation_busy';
  override readonly retryable = true;
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`conversation stream ${streamId}: still contended after ${attempts} attempts`);
  }
}

/** A stored event this build cannot read: an unknown type, or a schema version it has no upcaster for. */
export class UnsupportedConversationEventError extends LedgerlineError {
  readonly code = 'unsupported_conversation_event';
  constructor(
    readonly type: string,
    readonly schemaVersion: number,
    readonly problem: 'unknown_type' | 'unknown_version' | 'malformed_payload',
  ) {
    super(`conversation event ${type} v${schemaVersion}: ${problem}`);
  }
}

/**
 * The reader is not a member of the conversation. Raised the same way whether or not the
 * conversation exists, so a non-member learns nothing about it.
 */
export class NotAConversationMemberError extends LedgerlineError {
  readonly code = 'not_a_member';
  constructor(readonly conversationId: string) {
    super(`not a member of conversation ${conversationId}`);
  }
}

/** The message is not in the conversation's read model (or not yet). */
export class MessageNotFoundError extends NotFoundError {
  override readonly code = 'message_not_found';
  constructor(
    readonly conversationId: string,
    readonly messageId: string,
  ) {
    super(`conversation ${conversationId}: no message ${messageId}`);
  }
}

/** A page size above the cap (or below 1). */
export class PageSizeError extends ValidationError {
  override readonly code = 'page_size_out_of_range';
  constructor(
    readonly requested: number,
    readonly limit: number,
  ) {
    super(`page size must be an integer from 1 to ${limit}, got ${requested}`, 'limit');
  }
}

/** A paging cursor that is not a position token, or both directions at once. */
export class InvalidCursorError extends ValidationError {
  override readonly code = 'invalid_cursor';
}
