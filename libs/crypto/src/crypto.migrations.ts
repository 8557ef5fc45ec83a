import type { Migration } from '@ledgerline/database';

/**
 * Wrapped data keys and legal holds, in PostgreSQL / PGlite: never in the event log, because keys
 * must be destroyable and events must not. Applied migrations are immutable (the runner checks
 * their checksums); change the schema by adding a migration.
 *
 * A data key belongs to one (tenant, stream, epoch). At most one key per triple is active (takes
 * new events); when it has sealed its quota of events it is retired and a new one becomes active.
 * A key has one or more wraps, one per KEK version, so old and new wraps both open it while a
 * rotation is under way. Shredding deletes every wrap and stamps `shredded_at`; the key row stays
 * as the record that the key existed and was destroyed.
 */
export const cryptoMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'data-keys-and-legal-holds',
    sql: `
create table ll_data_keys (
  key_id uuid primary key,
  tenant_id text not null,
  stream_id text not null,
  epoch text not null,
  events_used bigint not null default 0 check (events_used >= 0),
  created_at timestamptz not null default now(),
  retired_at timestamptz,
  shredded_at timestamptz
);

create unique index ll_data_keys_active on ll_data_keys (tenant_id, stream_id, epoch)
  where retired_at is null and shredded_at is null;
create index ll_data_keys_scope on ll_data_keys (tenant_id, stream_id, epoch);
create index ll_data_keys_tenant_order on ll_data_keys (tenant_id, key_id);

create table ll_data_key_wraps (
  key_id uuid not null references ll_data_keys (key_id),
  kek_id text not null,
  kek_version text not null,
  wrapped bytea not null,
  created_at timestamptz not null default now(),
  primary key (key_id, kek_id, kek_version)
);

create index ll_data_key_wraps_kek on ll_data_key_wraps (kek_id, kek_version);

-- Shredding is final: a shredded key never gets a wrap again, and is never un-shredded.
create function ll_data_key_wraps_refuse_shredded() returns trigger language plpgsql as $$
begin
  if exists (select 1 from ll_data_keys k where k.key_id = new.key_id and k.shredded_at is not null) then
    raise exception using errcode = 'LL410', message = 'data key is shredded';
  end if;
  return new;
end $$;

create trigger ll_data_key_wraps_not_shredded
  before insert or update on ll_data_key_wraps
  for each row execute function ll_data_key_wraps_refuse_shredded();

create function ll_data_keys_keep_shredded() returns trigger language plpgsql as $$
begin
  if old.shredded_at is not null and new.shredded_at is distinct from old.shredded_at then
    raise exception using errcode = 'LL410', message = 'data key is shredded';
  end if;
  return new;
end $$;

create trigger ll_data_keys_shredding_is_final
  before update on ll_data_keys
  for each row execute function ll_data_keys_keep_shredded();

create table ll_legal_holds (
  hold_id uuid primary key,
  tenant_id text not null,
  stream_id text,
  stream_prefix text,
  reason text not null,
  created_at timestamptz not null default now(),
  released_at timestamptz,
  constraint ll_legal_holds_one_scope check ((stream_id is null) <> (stream_prefix is null))
);

create index ll_legal_holds_active on ll_legal_holds (tenant_id) where released_at is null;
`,
  },
  {
    version: 2,
    name: 'key-invalidation-notifications',
    sql: `
-- Every process caches unwrapped data keys: a shred tells them all, in the shredding transaction
-- (so no shred commits without its notification, whoever runs it). Ids only, never PHI; channel
-- and payload format in key-invalidation.ts.
create function ll_data_keys_notify_shredded() returns trigger language plpgsql as $$
begin
  if new.shredded_at is not null and old.shredded_at is null then
    perform pg_notify('ll_key_invalidation', json_build_object(
      'v', 1, 'k', 'keys', 't', new.tenant_id, 's', new.stream_id,
      'ids', json_build_array(new.key_id::text))::text);
  end if;
  return null;
end $$;

create trigger ll_data_keys_shred_notifies
  after update of shredded_at on ll_data_keys
  for each row execute function ll_data_keys_notify_shredded();
`,
  },
  {
    version: 3,
    name: 'legal-holds-sealed-and-append-only',
    sql: `
-- A hold's reason may name a patient or a case: it is sealed in the LegalHoldPlaced event of the
-- tenant's key stream, and the row keeps only what enforcement needs (ids, scope, times, who,
-- and the events that record it). Reasons stored in clear by earlier versions are sealed into
-- an event and cleared by the application (KeyLifecycle), the only change a reason may see.
alter table ll_legal_holds alter column reason drop not null;
alter table ll_legal_holds add column placed_by text;
alter table ll_legal_holds add column placed_event_id uuid;
alter table ll_legal_holds add column released_by text;
alter table ll_legal_holds add column released_event_id uuid;

-- History discipline: a hold is never deleted, and a row changes only forwards: released once
-- (with who), its events noted once, a clear reason cleared.
create function ll_legal_holds_forward_only() returns trigger language plpgsql as $$
begin
  if tg_op <> 'UPDATE' then
    raise exception using errcode = 'LL409', message = 'legal holds are never deleted';
  end if;
  if new.hold_id <> old.hold_id or new.tenant_id <> old.tenant_id
     or new.stream_id is distinct from old.stream_id
     or new.stream_prefix is distinct from old.stream_prefix
     or new.created_at <> old.created_at
     or new.placed_by is distinct from old.placed_by
     or (new.reason is not null and new.reason is distinct from old.reason)
     or (old.released_at is not null and new.released_at is distinct from old.released_at)
     or (old.released_by is not null and new.released_by is distinct from old.released_by)
     or (old.placed_event_id is not null and new.placed_event_id is distinct from old.placed_event_id)
     or (old.released_event_id is not null and new.released_event_id is distinct from old.released_event_id)
     or (new.released_at is null and old.released_at is not null) then
    raise exception using errcode = 'LL409', message = 'a legal hold only changes forwards';
  end if;
  return new;
end $$;

create trigger ll_legal_holds_history
  before update or delete on ll_legal_holds
  for each row execute function ll_legal_holds_forward_only();

create function ll_legal_holds_no_truncate() returns trigger language plpgsql as $$
begin
  raise exception using errcode = 'LL409', message = 'legal holds are never deleted';
end $$;

create trigger ll_legal_holds_no_truncate
  before truncate on ll_legal_holds
  for each statement execute function ll_legal_holds_no_truncate();
`,
  },
  {
    version: 4,
    name: 'tenant-current-kek',
    sql: `
-- Each tenant's current KEK, which every process wraps new data keys under (ADR 0018): one row per
-- change, the latest is current; never updated or deleted.
create table ll_tenant_keks (
  seq bigint generated always as identity primary key,
  tenant_id text not null,
  kek_id text not null,
  kek_version text not null,
  recorded_at timestamptz not null default now(),
  recorded_by text not null
);

create index ll_tenant_keks_latest on ll_tenant_keks (tenant_id, seq desc);

create function ll_tenant_keks_append_only() returns trigger language plpgsql as $$
begin
  raise exception using errcode = 'LL409', message = 'the record of current KEKs is append-only';
end $$;

create trigger ll_tenant_keks_no_change
  before update or delete on ll_tenant_keks
  for each row execute function ll_tenant_keks_append_only();

create trigger ll_tenant_keks_no_truncate
  before truncate on ll_tenant_keks
  for each statement execute function ll_tenant_keks_append_only();
`,
  },
];
