import type { Migration } from '@ledgerline/database';

/**
 * The presence connection table (namespace `presence`): one row per realtime connection of a user
 * or agent on any node, so that every node sees who is connected anywhere. Ids and times only.
 *
 * A row is live while `closed_at` is null and its node renewed it (`renewed_at`) within the
 * connection lease; a node that dies stops renewing and its rows expire. Closed and expired rows
 * stay until the user has gone offline: the latest of them says when the user was last seen.
 */
export const presenceMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'connections',
    sql: `
      create table ll_presence_connections (
        node_id text not null,
        connection_id text not null,
        tenant_id text not null,
        user_id text not null,
        user_kind text not null check (user_kind in ('user', 'agent')),
        opened_at timestamptz not null,
        renewed_at timestamptz not null,
        closed_at timestamptz,
        primary key (node_id, connection_id)
      );
      create index ll_presence_connections_by_user on ll_presence_connections (tenant_id, user_id);`,
  },
];
