import type { Migration } from '@ledgerline/database';

/**
 * Break-glass grants (namespace `emergency-access`): who may read which conversation they are not
 * a member of, until when, granted and revoked by whom. Ids and times only: each grant's reason
 * is sealed in its `EmergencyAccessGranted` event (stream `emergency-access:<tenant>`), never in
 * clear here. The events are the record; this table is what a read checks.
 */
export const emergencyAccessMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'emergency-grants',
    sql: `
create table ll_emergency_grants (
  grant_id text primary key,
  tenant_id text not null,
  grantee_id text not null,
  conversation_id text not null,
  granted_by text not null,
  granted_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_by text,
  check (expires_at > granted_at)
);

create index ll_emergency_grants_active
  on ll_emergency_grants (tenant_id, grantee_id, conversation_id, expires_at);
`,
  },
];
