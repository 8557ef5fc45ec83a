import type { DataKeys } from '@ledgerline/crypto';
import { conversationStreamId } from '@ledgerline/conversations';
import { monthEpoch } from '@ledgerline/ledger';
import { deriveFileKey } from '../encryption/file-body-cipher';

/**
 * File keys come from the data keys of the file's conversation stream (the same scope its messages
 * are sealed under, one key per retention epoch), so shredding the conversation or the epoch makes
 * its files unreadable: `openingKey` then fails with DataKeyShreddedError.
 */
export class FileKeys {
  constructor(private readonly keys: Pick<DataKeys, 'sealingKey' | 'openingKey'>) {}

  /** A key for a new file: one use of the conversation's current data key. */
  async forNewFile(
    tenantId: string,
    conversationId: string,
    fileId: string,
    now: Date,
  ): Promise<{ keyId: string; epoch: string; key: Buffer }> {
    const epoch = monthEpoch(now);
    const streamId = conversationStreamId(tenantId, conversationId);
    const lease = await this.keys.sealingKey({ tenantId, streamId, epoch }, 1);
    try {
      return { keyId: lease.keyId, epoch, key: deriveFileKey(lease.key, fileId) };
    } finally {
      lease.key.fill(0);
    }
  }

  /** The key of a stored file (or of one of its derived bodies, by that body's id). */
  async forFile(
    tenantId: string,
    conversationId: string,
    keyId: string,
    bodyId: string,
  ): Promise<Buffer> {
    const streamId = conversationStreamId(tenantId, conversationId);
    const dataKey = await this.keys.openingKey(keyId, { tenantId, streamId });
    try {
      return deriveFileKey(dataKey, bodyId);
    } finally {
      dataKey.fill(0);
    }
  }
}
