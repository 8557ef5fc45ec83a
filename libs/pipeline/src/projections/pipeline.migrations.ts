import type { Migration } from '@ledgerline/database';

/**
 * The projection processor's bookkeeping (namespace `pipeline`): one row per projection with the
 * last `$all` position applied to its tables, written in the same transaction as those tables, so
 * the checkpoint and the rows can never disagree. `generation` counts blue/green rebuilds; the
 * failure columns keep the last stop for operators (`ledgerline projections status`).
 */
export const pipelineMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'projections',
    sql: `
      create table ll_projections (
        name text primary key,
        generation integer not null default 1,
        commit_position xid8,
        prepare_position bigint,
        updated_at timestamptz not null default now(),
        rebuilt_at timestamptz,
        failed_at timestamptz,
        failure_code text,
        failure_commit xid8,
        failure_prepare bigint
      );
    `,
  },
];
