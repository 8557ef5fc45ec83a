import { appendOnlySql, type Migration } from '@ledgerline/database';

/**
 * The Merkle log over `$all`: one leaf per event in global order, and the signed tree heads. Kept
 * in PostgreSQL / PGlite whichever store holds the events. Both tables are append-only, like the
 * event log; applied migrations are immutable (the runner checks their checksums).
 *
 * A leaf row repeats a few ids of its event (position, tenant, stream, revision, event id, time)
 * so exports can find a tenant's leaves and reports can name what is missing; the leaf hash is
 * what was signed. A head keeps the frontier (the roots of the perfect subtrees of its tree) so
 * the next checkpoint folds only new events.
 */
export const checkpointMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'merkle-leaves-and-tree-heads',
    sql: `
create table ll_merkle_leaves (
  idx bigint primary key check (idx >= 0),
  commit_position numeric(20, 0) not null,
  prepare_position numeric(20, 0) not null,
  tenant_id text not null,
  stream_id text not null,
  revision bigint not null,
  event_id text not null,
  recorded_at timestamptz not null,
  leaf_hash bytea not null check (octet_length(leaf_hash) = 32)
);

create index ll_merkle_leaves_tenant_time on ll_merkle_leaves (tenant_id, recorded_at, idx);

create table ll_tree_heads (
  tree_size bigint primary key check (tree_size > 0),
  root_hash bytea not null check (octet_length(root_hash) = 32),
  last_commit_position numeric(20, 0) not null,
  last_prepare_position numeric(20, 0) not null,
  signed_at timestamptz not null,
  signature bytea not null,
  key_fingerprint text not null,
  frontier jsonb not null,
  created_at timestamptz not null default now()
);

create index ll_tree_heads_signed_at on ll_tree_heads (signed_at);

${appendOnlySql({
  refuseFunction: 'll_merkle_refuse_change',
  message: 'the Merkle log is append-only',
  tables: ['ll_merkle_leaves', 'll_tree_heads'],
})}`,
  },
  {
    version: 2,
    name: 'merkle-leaves-by-stream',
    // Reads look up the highest signed revision of a stream (MerkleSignedTails): a cut tail shows.
    sql: `create index ll_merkle_leaves_stream on ll_merkle_leaves (stream_id, revision);`,
  },
];
