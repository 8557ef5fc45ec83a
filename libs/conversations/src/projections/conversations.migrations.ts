import type { Migration } from '@ledgerline/database';

/**
 * The conversations read models (namespace `conversations`). They hold ids, sequences, positions,
 * flags, counters and times, and never anything a user typed: where a row needs text (a message,
 * a title, an emoji), it holds the revision of the sealed event that says it, and queries open that
 * event through the ledger. So no PHI rests in clear here, and shredding a stream's keys makes its
 * text unreadable in every read model at once.
 *
 * Positions are `$all` positions: `commit_position` is the writing transaction's id (an unsigned
 * 64-bit number, hence numeric), `prepare_position` the event's sequence.
 */
export const conversationReadModelMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'read-models',
    sql: `
      -- Bookkeeping: a projection's generation names its checkpoint (a rebuild starts a new one),
      -- and the last revision applied per stream makes redelivered events no-ops.
      create table ll_conv_projections (
        name text primary key,
        generation integer not null default 1,
        rebuilt_at timestamptz
      );
      create table ll_conv_projection_streams (
        projection text not null,
        stream_id text not null,
        revision bigint not null,
        primary key (projection, stream_id)
      );

      -- conversation-list: each member's conversations.
      create table ll_conv_list_conversations (
        tenant_id text not null,
        conversation_id text not null,
        kind text not null check (kind in ('direct', 'group')),
        archived boolean not null default false,
        title_revision bigint,
        created_at timestamptz not null,
        last_sequence integer not null default 0,
        last_message_id text,
        last_message_author_id text,
        last_message_text_revision bigint,
        last_message_redacted boolean not null default false,
        last_message_at timestamptz,
        activity_commit numeric(20, 0) not null,
        activity_prepare bigint not null,
        primary key (tenant_id, conversation_id)
      );
      create table ll_conv_list_members (
        tenant_id text not null,
        conversation_id text not null,
        member_id text not null,
        member_kind text not null,
        role text not null,
        joined_sequence integer not null default 0,
        read_up_to_sequence integer not null default 0,
        unread_count integer not null default 0,
        muted boolean not null default false,
        primary key (tenant_id, conversation_id, member_id)
      );
      create index ll_conv_list_members_by_member on ll_conv_list_members (tenant_id, member_id);
      create table ll_conv_list_messages (
        tenant_id text not null,
        conversation_id text not null,
        sequence integer not null,
        message_id text not null,
        author_id text not null,
        redacted boolean not null default false,
        primary key (tenant_id, conversation_id, sequence)
      );
      create unique index ll_conv_list_messages_by_id
        on ll_conv_list_messages (tenant_id, conversation_id, message_id);

      -- message-history: messages in $all order, threads.
      create table ll_conv_messages (
        tenant_id text not null,
        conversation_id text not null,
        message_id text not null,
        revision bigint not null,
        commit_position numeric(20, 0) not null,
        prepare_position bigint not null,
        sequence integer not null,
        author_id text not null,
        author_kind text not null,
        thread_root_id text,
        sent_at timestamptz not null,
        text_revision bigint,
        edit_count integer not null default 0,
        edited_at timestamptz,
        redacted boolean not null default false,
        redacted_at timestamptz,
        redacted_by text,
        reply_count integer not null default 0,
        last_reply_at timestamptz,
        primary key (tenant_id, conversation_id, message_id)
      );
      create index ll_conv_messages_by_position
        on ll_conv_messages (tenant_id, conversation_id, commit_position, prepare_position);
      create index ll_conv_messages_by_thread
        on ll_conv_messages (tenant_id, conversation_id, thread_root_id, commit_position, prepare_position)
        where thread_root_id is not null;

      -- message-edits: every version of a message (0 is the original).
      create table ll_conv_message_edits (
        tenant_id text not null,
        conversation_id text not null,
        message_id text not null,
        edit_number integer not null,
        revision bigint not null,
        edited_at timestamptz not null,
        editor_id text not null,
        primary key (tenant_id, conversation_id, message_id, edit_number)
      );

      -- reactions: each add and remove, by event; the emoji stays in the sealed event.
      create table ll_conv_reactions (
        tenant_id text not null,
        conversation_id text not null,
        revision bigint not null,
        message_id text not null,
        member_id text not null,
        added boolean not null,
        primary key (tenant_id, conversation_id, revision)
      );
      create index ll_conv_reactions_by_message
        on ll_conv_reactions (tenant_id, conversation_id, message_id, revision);

      -- receipts: delivery marks per device, read marks per member.
      create table ll_conv_deliveries (
        tenant_id text not null,
        conversation_id text not null,
        member_id text not null,
        device_id text not null,
        up_to_sequence integer not null,
        up_to_message_id text not null,
        marked_at timestamptz not null,
        primary key (tenant_id, conversation_id, member_id, device_id)
      );
      create table ll_conv_reads (
        tenant_id text not null,
        conversation_id text not null,
        member_id text not null,
        up_to_sequence integer not null,
        up_to_message_id text not null,
        marked_at timestamptz not null,
        primary key (tenant_id, conversation_id, member_id)
      );`,
  },
  {
    version: 2,
    name: 'one-projection-processor',
    sql: `
      -- The read models now ride on the one projection processor (libs/pipeline), whose checkpoint
      -- commits with their rows (ll_projections): the per-projection generations and per-stream
      -- revisions are gone. The read models are emptied so the processor builds them from the log.
      drop table ll_conv_projection_streams;
      drop table ll_conv_projections;
      truncate ll_conv_list_conversations, ll_conv_list_members, ll_conv_list_messages,
        ll_conv_messages, ll_conv_message_edits, ll_conv_reactions, ll_conv_deliveries,
        ll_conv_reads;
    `,
  },
];
