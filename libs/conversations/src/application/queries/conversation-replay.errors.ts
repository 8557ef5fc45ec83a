import { NotFoundError } from '@ledgerline/kernel';

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
