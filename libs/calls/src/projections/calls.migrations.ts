import type { Migration } from '@ledgerline/database';

/**
 * The calls read models (namespace `calls`): ids, times, outcomes and counters, never SDP or a
 * network address (those stay sealed in the call's events, or in the signal relay's sealed rows).
 */
export const callReadModelMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'call-read-models',
    sql: `
      -- One row per call: its state now, and once ended its history entry.
      create table ll_calls (
        tenant_id text not null,
        call_id text not null,
        conversation_id text not null,
        sequence integer not null,
        kind text not null check (kind in ('direct', 'group')),
        media text not null check (media in ('audio', 'video')),
        status text not null check (status in ('ringing', 'active', 'ended')),
        started_by text not null,
        started_at timestamptz not null,
        answered_at timestamptz,
        ended_at timestamptz,
        outcome text,
        duration_ms bigint,
        ring_until timestamptz not null,
        -- The next ring timeout or grace period due: every node's sweep looks here, so timers
        -- survive a restart (they are in the events, and so in this row).
        next_deadline timestamptz,
        ringing text[] not null default '{}',
        participants text[] not null default '{}',
        primary key (tenant_id, call_id)
      );
      create index ll_calls_by_conversation on ll_calls (tenant_id, conversation_id, sequence desc);
      create index ll_calls_due on ll_calls (next_deadline) where next_deadline is not null;

      -- The devices in a live call now.
      create table ll_call_devices (
        tenant_id text not null,
        call_id text not null,
        user_id text not null,
        device_id text not null,
        role text not null check (role in ('speaker', 'listener')),
        joined_at timestamptz not null,
        grace_until timestamptz,
        primary key (tenant_id, call_id, user_id, device_id)
      );
      create index ll_call_devices_by_user on ll_call_devices (tenant_id, user_id);
    `,
  },
];
