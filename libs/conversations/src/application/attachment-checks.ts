import type { Principal } from '@ledgerline/identity';
import { ValidationError } from '@ledgerline/kernel';

/**
 * How a message's attachments are checked before it is sent: that each is a file the sender
 * uploaded to this conversation and that may be shown (libs/files registers it). Conversations
 * know no files; without a registered check, a send with attachments is refused.
 */
export interface AttachmentCheck {
  check(principal: Principal, conversationId: string, fileIds: readonly string[]): Promise<void>;
}

/** Where the attachment check is registered at start-up (one per process). */
export class AttachmentChecks {
  private registered: AttachmentCheck | undefined;

  register(check: AttachmentCheck): void {
    this.registered = check;
  }

  async assert(
    principal: Principal,
    conversationId: string,
    fileIds: readonly string[] | undefined,
  ): Promise<void> {
    if (!fileIds || fileIds.length === 0) return;
    if (!this.registered) {
      throw new ValidationError('attachments are not served here', 'attachmentIds');
    }
    await this.registered.check(principal, conversationId, fileIds);
  }
}
