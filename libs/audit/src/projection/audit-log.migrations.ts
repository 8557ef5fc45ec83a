import { appendOnlySql, type Migration } from '@ledgerline/database';

/**
 * The audit log read model (namespace `audit-log`): one row per access event of every tenant's
 * audit stream, and one row per (event, subject user) for the accounting of disclosures. Ids,
 * codes and times only, as the access events themselves.
 *
 * Both tables are append-only in the database (see `appendOnlySql`): the application's connection
 * can insert, and nothing else. So the projection inserts with `on conflict (event_id) do nothing`
 * and is never emptied: a replay from the start of the log (`AuditLogProjection.replay`) fills in
 * whatever is missing and changes nothing else.
 *
 * `ll_audit_log_projection` is the projection's bookkeeping (which checkpoint generation it
 * follows), not part of the log, and is not append-only.
 *
 * Positions are `$all` positions (`commit_position` the writing transaction's id, an unsigned 64-bit
 * number, hence numeric; `prepare_position` the event's sequence). Results page by position.
 */
export const auditLogMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'audit-log',
    sql: `
create table ll_audit_log (
  event_id text primary key,
  tenant_id text not null,
  commit_position numeric(20, 0) not null,
  prepare_position bigint not null,
  stream_revision bigint not null,
  at timestamptz not null,
  recorded_at timestamptz not null,
  actor_id text not null,
  actor_kind text not null,
  actor_roles text[] not null,
  actor_credential_id text,
  action text not null,
  outcome text not null check (outcome in ('allowed', 'denied', 'failed')),
  reason text,
  permission text,
  conversation_id text,
  resource_type text,
  target_ids text[] not null,
  subject_user_ids text[] not null,
  origin_node text,
  origin_transport text,
  origin_client_address text,
  origin_user_agent text,
  origin_device_id text,
  constraint ll_audit_log_position unique (commit_position, prepare_position)
);

create index ll_audit_log_by_position on ll_audit_log (tenant_id, commit_position, prepare_position);
create index ll_audit_log_by_time on ll_audit_log (tenant_id, at);
create index ll_audit_log_by_actor on ll_audit_log (tenant_id, actor_id, at);
create index ll_audit_log_by_action on ll_audit_log (tenant_id, action, at);
create index ll_audit_log_by_conversation on ll_audit_log (tenant_id, conversation_id, at)
  where conversation_id is not null;

create table ll_audit_log_subjects (
  tenant_id text not null,
  subject_user_id text not null,
  at timestamptz not null,
  commit_position numeric(20, 0) not null,
  prepare_position bigint not null,
  event_id text not null,
  primary key (event_id, subject_user_id)
);

create index ll_audit_log_subjects_by_subject
  on ll_audit_log_subjects (tenant_id, subject_user_id, at);

${appendOnlySql({
  refuseFunction: 'll_audit_log_refuse_change',
  message: 'the audit log is append-only',
  tables: ['ll_audit_log', 'll_audit_log_subjects'],
})}
create table ll_audit_log_projection (
  name text primary key,
  generation integer not null default 1,
  replayed_at timestamptz
);
`,
  },
  {
    version: 2,
    name: 'audit-log-operation',
    // The request a record names (item 23 of issue 10): \`messages\` and \`editHistory\` are both
    // \`conversation.read\`, and an auditor must see which one was refused. Rows projected before
    // this column keep null (the log is append-only; their events still say it).
    sql: `alter table ll_audit_log add column operation text;`,
  },
];
