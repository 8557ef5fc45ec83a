import type { SqlExecutor } from '@ledgerline/database';
import type { OpenedEvent } from '@ledgerline/ledger';
import type { Projection } from '@ledgerline/pipeline';
import { openConversationEvent, parseConversationStreamId } from '@ledgerline/conversations';
import { openFileEvent } from '../application/file-events.codec';
import { sealedSize } from '../encryption/file-body-cipher';

/**
 * `ll_files`: one row per file, from its events in the conversation streams. Applied once per
 * event by the projection processor; every statement is also idempotent (a replay over existing
 * rows leaves them as they are).
 */
export const filesProjection: Projection = {
  name: 'files',
  streamPrefixes: ['conversation:'],
  tables: ['ll_files', 'll_file_attachments'],
  async apply(tx: SqlExecutor, opened: OpenedEvent): Promise<void> {
    const where = parseConversationStreamId(opened.streamId);
    if (!where) return;
    if (opened.type === 'MessageSent') return attachments(tx, opened);
    const e = openFileEvent(opened);
    if (!e) return;
    const key = [e.data.tenantId, e.data.fileId];
    switch (e.type) {
      case 'FileUploaded':
        await tx.query(
          `insert into ll_files (tenant_id, file_id, conversation_id, uploader_id, uploaded_revision,
             status, blob_key, key_id, stored_bytes, uploaded_at)
           values ($1, $2, $3, $4, $5, 'available', $6, $7, $8, $9)
           on conflict (tenant_id, file_id) do nothing`,
          [
            ...key,
            e.data.conversationId,
            e.data.actor.id,
            opened.revision.toString(),
            e.data.body.blobKey,
            e.data.body.keyId,
            sealedSize(e.data.body.size, e.data.body.chunkSize),
            e.data.at,
          ],
        );
        return;
      case 'FileQuarantined':
        await tx.query(
          `update ll_files set status = 'quarantined' where tenant_id = $1 and file_id = $2 and status = 'available'`,
          key,
        );
        return;
      case 'ThumbnailAttached':
        await tx.query(
          `update ll_files set thumbnail_revision = $3, thumbnail_blob_key = $4, thumbnail_key_id = $5,
             stored_bytes = stored_bytes + $6
           where tenant_id = $1 and file_id = $2 and thumbnail_revision is null`,
          [
            ...key,
            opened.revision.toString(),
            e.data.body.blobKey,
            e.data.body.keyId,
            sealedSize(e.data.body.size, e.data.body.chunkSize),
          ],
        );
        return;
      case 'FileRemoved':
        await tx.query(
          `update ll_files set status = 'removed', removed_at = $3
           where tenant_id = $1 and file_id = $2 and status <> 'removed'`,
          [...key, e.data.at],
        );
        return;
    }
  },
};

/** A message's attachments, in order. */
async function attachments(tx: SqlExecutor, opened: OpenedEvent): Promise<void> {
  const sent = openConversationEvent(opened);
  if (sent?.type !== 'MessageSent' || !sent.data.attachmentIds?.length) return;
  const ids = sent.data.attachmentIds;
  await tx.query(
    `insert into ll_file_attachments (tenant_id, conversation_id, message_id, ordinal, file_id)
     select $1, $2, $3, ordinality - 1, file_id from unnest($4::text[]) with ordinality as a(file_id, ordinality)
     on conflict do nothing`,
    [sent.data.tenantId, sent.data.conversationId, sent.data.messageId, [...ids]],
  );
}
