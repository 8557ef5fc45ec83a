import type { Migration } from '@ledgerline/database';

/**
 * The files read models (namespace `files`): ids, statuses, blob keys, key ids, sizes of sealed
 * bodies and revisions; never a name, a type or a hash (those stay sealed in FileUploaded, which
 * reads open through the ledger by its revision). `stored_bytes` is ciphertext, as the blob store
 * shows it anyway; it is what the tenant cap counts.
 */
export const filesMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'files',
    sql: `
      create table ll_files (
        tenant_id text not null,
        file_id text not null,
        conversation_id text not null,
        uploader_id text not null,
        uploaded_revision bigint not null,
        status text not null check (status in ('available', 'quarantined', 'removed')),
        blob_key text not null,
        key_id text not null,
        stored_bytes bigint not null,
        thumbnail_revision bigint,
        thumbnail_blob_key text,
        thumbnail_key_id text,
        uploaded_at timestamptz not null,
        removed_at timestamptz,
        primary key (tenant_id, file_id)
      );
      create index ll_files_by_conversation on ll_files (tenant_id, conversation_id);
      create index ll_files_by_key on ll_files (key_id);

      -- Uploads under way (tus): where each stands, so a PATCH may resume on any node. The name
      -- and type are sealed with the file's key (meta), and so are the bytes received past the
      -- last whole chunk (tail): nothing a user sent rests here in clear.
      create table ll_file_uploads (
        file_id text primary key,
        tenant_id text not null,
        conversation_id text not null,
        uploader_id text not null,
        uploader_kind text not null,
        size bigint not null,
        received bigint not null default 0,
        parts integer not null default 0,
        key_id text not null,
        epoch text not null,
        chunk_size integer not null,
        meta bytea not null,
        tail bytea,
        created_at timestamptz not null
      );
      create index ll_file_uploads_by_tenant on ll_file_uploads (tenant_id);
    `,
  },
  {
    version: 2,
    name: 'attachments',
    sql: `
      -- Which files each message carries, in order (from MessageSent's attachmentIds).
      create table ll_file_attachments (
        tenant_id text not null,
        conversation_id text not null,
        message_id text not null,
        ordinal integer not null,
        file_id text not null,
        primary key (tenant_id, conversation_id, message_id, ordinal)
      );
      create index ll_file_attachments_by_file on ll_file_attachments (tenant_id, file_id);

      -- The retention job's own record: data keys (shredded) whose blobs it deleted.
      create table ll_file_purges (
        key_id text primary key,
        tenant_id text not null,
        blobs integer not null,
        purged_at timestamptz not null
      );
    `,
  },
];
