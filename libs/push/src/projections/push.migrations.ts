import type { Migration } from '@ledgerline/database';

/**
 * The push read models and outbox (namespace `push`). No token rests here: a device row holds the
 * revision of the sealed `PushDeviceRegistered` event that carries it, and the dispatcher opens
 * that event through the ledger when it sends (so shredding the user's keys silences the device).
 * Nothing a user typed is here either: ids, kinds, counts and times.
 */
export const pushMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'devices-preferences-outbox',
    sql: `
      create table ll_push_devices (
        tenant_id text not null,
        device_id uuid not null,
        user_id text not null,
        platform text not null check (platform in ('apns', 'fcm')),
        environment text not null check (environment in ('production', 'sandbox')),
        app_id text not null,
        token_stream_id text not null,
        token_revision bigint not null,
        registered_at timestamptz not null,
        primary key (tenant_id, device_id)
      );
      create index ll_push_devices_user on ll_push_devices (tenant_id, user_id);

      create table ll_push_mutes (
        tenant_id text not null,
        user_id text not null,
        conversation_id text not null,
        until timestamptz,
        primary key (tenant_id, user_id, conversation_id)
      );

      create table ll_push_dnd (
        tenant_id text not null,
        user_id text not null,
        until timestamptz,
        primary key (tenant_id, user_id)
      );

      create table ll_push_members (
        tenant_id text not null,
        conversation_id text not null,
        member_id text not null,
        primary key (tenant_id, conversation_id, member_id)
      );

      -- One row per device and conversation waiting to be pushed. Events arriving while a row is
      -- unclaimed (lease_until is null) are coalesced into it (event_count), so a burst to a large
      -- group costs one row per device, not one per message. push_id is the idempotency key.
      create table ll_push_outbox (
        push_id uuid primary key,
        tenant_id text not null,
        device_id uuid not null,
        user_id text not null,
        conversation_id text not null,
        kind text not null check (kind in ('message', 'mention')),
        event_count integer not null,
        first_event_id uuid not null,
        last_event_id uuid not null,
        event_at timestamptz not null,
        attempts integer not null default 0,
        next_attempt_at timestamptz not null,
        lease_until timestamptz
      );
      create unique index ll_push_outbox_coalescing
        on ll_push_outbox (tenant_id, device_id, conversation_id) where lease_until is null;
      create index ll_push_outbox_due on ll_push_outbox (next_attempt_at);
    `,
  },
];
