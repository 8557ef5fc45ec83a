import type { AttachmentCheck } from '@ledgerline/conversations';
import type { Principal } from '@ledgerline/identity';
import { FileNotFoundError } from '../domain/file.errors';
import { FileQuarantinedError } from './file-downloads.handler';
import type { FileRecords } from './file-records.port';

/**
 * Files as message attachments. The check a send passes (registered with the conversations):
 * every id is a file the sender uploaded to this conversation, not removed, not quarantined. And
 * the ids a message carries, from `ll_file_attachments` (the files projection writes it from
 * MessageSent).
 */
export class FileAttachments implements AttachmentCheck {
  constructor(private readonly records: FileRecords) {}

  async check(principal: Principal, conversationId: string, fileIds: readonly string[]) {
    const found = new Map(
      (await this.records.many(principal.tenantId, fileIds)).map((r) => [r.fileId, r]),
    );
    for (const fileId of fileIds) {
      const record = found.get(fileId.toLowerCase()) ?? found.get(fileId);
      if (
        !record ||
        record.conversationId !== conversationId ||
        record.uploaderId !== principal.id ||
        record.status === 'removed'
      ) {
        throw new FileNotFoundError(fileId);
      }
      if (record.status === 'quarantined') throw new FileQuarantinedError(fileId);
    }
  }

  /** The file ids of one message, in the order it was sent with. */
  ofMessage(tenantId: string, conversationId: string, messageId: string): Promise<string[]> {
    return this.records.attachedTo(tenantId, conversationId, messageId);
  }
}
