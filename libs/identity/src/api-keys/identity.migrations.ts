import type { Migration } from '@ledgerline/database';

/**
 * API keys of backend services. Only a SHA-256 of each key is stored: the key itself is shown once,
 * when it is created, and cannot be recovered from the database. `prefix` is the public part of the
 * key, used to find its row. A revoked key keeps its row (who had it, until when) for audit.
 * Applied migrations are immutable; change the schema by adding a migration.
 */
export const identityMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'api-keys',
    sql: `
create table ll_api_keys (
  id uuid primary key,
  tenant_id text not null,
  name text not null,
  prefix text not null,
  hash bytea not null check (octet_length(hash) = 32),
  roles text[] not null,
  created_at timestamptz not null,
  revoked_at timestamptz,
  constraint ll_api_keys_prefix unique (prefix)
);

create index ll_api_keys_tenant on ll_api_keys (tenant_id, created_at);
`,
  },
];
