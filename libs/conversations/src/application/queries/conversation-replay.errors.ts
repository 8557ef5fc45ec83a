import { NotFoundError, ValidationError } from '@ledgerline/kernel';

/** No conversation stream with this id in the tenant: nothing was replayed, nothing recorded. */
export class ReplayConversationNotFoundError extends NotFoundError {
  override readonly code = 'conversation_not_found';
  constructor(
    readonly tenantId: string,
    readonly conversationId: string,
  ) {
    super(`no conversation ${conversationId} in tenant ${tenantId}`);
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
