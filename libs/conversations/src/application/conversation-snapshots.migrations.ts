import type { Migration } from '@ledgerline/database';

export const conversationSnapshotMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'conversation-snapshots',
    sql: `
      create table ll_conversation_snapshots (
        stream_id text primary key,
        tenant_id text not null,
        revision bigint not null check (revision >= 0),
        version integer not null,
        key_id text not null,
        epoch text not null,
        state bytea not null,
        taken_at timestamptz not null default now()
      );`,
  },
];
