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
];
