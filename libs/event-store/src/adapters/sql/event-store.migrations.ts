import type { Migration } from '@ledgerline/database';

/**
 * The event log in PostgreSQL / PGlite. Applied migrations are immutable (the runner checks their
 * checksums); change the schema by adding a migration.
 *
 * Global order is (tx_id, position): `position` comes from an identity sequence at insert time,
 * `tx_id` is the inserting transaction's id. Readers only see rows whose transaction is older than
 * every transaction still running (`tx_id < pg_snapshot_xmin(pg_current_snapshot())`), so no row
 * can later appear before one already read. See docs/adr/0003.
 */
export const eventStoreMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
create table ll_streams (
  stream_id text primary key,
  revision bigint not null
);

create table ll_events (
  position bigint generated always as identity primary key,
  tx_id xid8 not null default pg_current_xact_id(),
  stream_id text not null,
  revision bigint not null,
  event_id uuid not null,
  type text not null,
  schema_version integer not null,
  tenant_id text not null,
  recorded_at timestamptz not null,
  metadata jsonb not null,
  data bytea not null,
  constraint ll_events_stream_revision unique (stream_id, revision),
  constraint ll_events_event_id unique (event_id)
);

create index ll_events_global_order on ll_events (tx_id, position);

-- The log is append-only: a stored event is never updated or deleted by the application.
create function ll_events_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception using errcode = 'LL403', message = 'll_events is append-only';
end $$;

create trigger ll_events_append_only
  before update or delete on ll_events
  for each row execute function ll_events_refuse_change();

create trigger ll_events_no_truncate
  before truncate on ll_events
  for each statement execute function ll_events_refuse_change();

create table ll_checkpoints (
  name text primary key,
  commit_position xid8 not null,
  prepare_position bigint not null,
  updated_at timestamptz not null default now()
);

-- One round trip per append. p_events is a JSON array of
-- {"id": uuid, "type": text, "v": int, "tenant": text, "meta": object, "data": base64}.
-- Raises LL001 (wrong expected revision; DETAIL = actual revision, -1 for no stream) or
-- LL002 (event ids already used elsewhere). Returns one row per event of the batch.
create function ll_append(p_stream text, p_expected text, p_recorded_at timestamptz, p_events jsonb)
returns table (o_event_id uuid, o_revision bigint, o_tx_id xid8, o_position bigint, o_duplicate boolean)
language plpgsql as $$
declare
  v_current bigint;
  v_count integer := jsonb_array_length(p_events);
  v_ids uuid[];
  v_found integer;
  v_same uuid[];
begin
  select array_agg((e->>'id')::uuid order by ord) into v_ids
    from jsonb_array_elements(p_events) with ordinality as t(e, ord);

  -- Lock the stream row (creating it if new) so appends to one stream are serialised.
  insert into ll_streams (stream_id, revision) values (p_stream, -1) on conflict (stream_id) do nothing;
  select s.revision into v_current from ll_streams s where s.stream_id = p_stream for update;

  -- Idempotency first: a retried batch succeeds whatever expected revision it carries.
  select count(*) into v_found from ll_events e where e.event_id = any(v_ids);
  if v_found > 0 then
    select array_agg(e.event_id order by e.revision) into v_same
      from ll_events e where e.event_id = any(v_ids) and e.stream_id = p_stream;
    if v_found = v_count and v_same = v_ids then
      return query
        select e.event_id, e.revision, e.tx_id, e.position, true
          from ll_events e where e.event_id = any(v_ids) order by e.revision;
      return;
    end if;
    raise exception using errcode = 'LL002', message = 'event id conflict';
  end if;

  if p_expected = 'any' then
    null;
  elsif p_expected = 'no_stream' then
    if v_current <> -1 then
      raise exception using errcode = 'LL001', message = 'wrong expected revision', detail = v_current::text;
    end if;
  elsif p_expected = 'stream_exists' then
    if v_current = -1 then
      raise exception using errcode = 'LL001', message = 'wrong expected revision', detail = v_current::text;
    end if;
  elsif v_current <> p_expected::bigint then
    raise exception using errcode = 'LL001', message = 'wrong expected revision', detail = v_current::text;
  end if;

  return query
    insert into ll_events (stream_id, revision, event_id, type, schema_version, tenant_id, recorded_at, metadata, data)
    select p_stream, v_current + t.ord, (t.e->>'id')::uuid, t.e->>'type', (t.e->>'v')::integer,
           t.e->>'tenant', p_recorded_at, t.e->'meta', decode(t.e->>'data', 'base64')
      from jsonb_array_elements(p_events) with ordinality as t(e, ord)
     order by t.ord
    returning event_id, revision, tx_id, position, false;

  update ll_streams set revision = v_current + v_count where stream_id = p_stream;
  -- No NOTIFY here: a notifying transaction takes a database-wide lock at commit, which made
  -- concurrent appends commit one at a time. The adapter notifies after commit (see ADR 0002).
end $$;
`,
  },
  {
    version: 2,
    name: 'group-commit',
    sql: `
-- Group commit: several appends, to any streams, in one statement and so one transaction (one
-- commit, one WAL flush). p_appends is a JSON array of
-- {"stream": text, "expected": text, "at": timestamptz, "events": [ll_append's event objects]},
-- sorted by stream id by the caller so concurrent groups lock stream rows in one order.
-- Each append runs in its own subtransaction: one that fails (wrong expected revision, event id
-- conflict) is reported in its rows (o_error = SQLSTATE, o_detail, o_constraint) and leaves the
-- others of the group committed. Rows carry the append's index in the group (o_index).
create function ll_append_many(p_appends jsonb)
returns table (o_index integer, o_event_id uuid, o_revision bigint, o_tx_id xid8, o_position bigint,
               o_duplicate boolean, o_error text, o_detail text, o_constraint text)
language plpgsql as $$
declare
  v_append jsonb;
  v_index integer := 0;
  v_row record;
begin
  for v_append in select value from jsonb_array_elements(p_appends) loop
    begin
      for v_row in
        select * from ll_append(v_append->>'stream', v_append->>'expected',
                                (v_append->>'at')::timestamptz, v_append->'events')
      loop
        o_index := v_index; o_event_id := v_row.o_event_id; o_revision := v_row.o_revision;
        o_tx_id := v_row.o_tx_id; o_position := v_row.o_position; o_duplicate := v_row.o_duplicate;
        o_error := null; o_detail := null; o_constraint := null;
        return next;
      end loop;
    exception when sqlstate 'LL001' or sqlstate 'LL002' or unique_violation then
      o_index := v_index; o_event_id := null; o_revision := null; o_tx_id := null;
      o_position := null; o_duplicate := null;
      get stacked diagnostics o_error = returned_sqlstate, o_detail = pg_exception_detail,
                              o_constraint = constraint_name;
      return next;
    end;
    v_index := v_index + 1;
  end loop;
end $$;
`,
  },
  {
    version: 3,
    name: 'append-notifies',
    // The append's own transaction wakes the subscribers: no NOTIFY statement (and commit) of its
    // own after each group.
    sql: `
create or replace function ll_append_many(p_appends jsonb)
returns table (o_index integer, o_event_id uuid, o_revision bigint, o_tx_id xid8, o_position bigint,
               o_duplicate boolean, o_error text, o_detail text, o_constraint text)
language plpgsql as $$
declare
  v_append jsonb;
  v_index integer := 0;
  v_row record;
  v_stored boolean := false;
begin
  for v_append in select value from jsonb_array_elements(p_appends) loop
    begin
      for v_row in
        select * from ll_append(v_append->>'stream', v_append->>'expected',
                                (v_append->>'at')::timestamptz, v_append->'events')
      loop
        o_index := v_index; o_event_id := v_row.o_event_id; o_revision := v_row.o_revision;
        o_tx_id := v_row.o_tx_id; o_position := v_row.o_position; o_duplicate := v_row.o_duplicate;
        o_error := null; o_detail := null; o_constraint := null;
        v_stored := v_stored or not v_row.o_duplicate;
        return next;
      end loop;
    exception when sqlstate 'LL001' or sqlstate 'LL002' or unique_violation then
      o_index := v_index; o_event_id := null; o_revision := null; o_tx_id := null;
      o_position := null; o_duplicate := null;
      get stacked diagnostics o_error = returned_sqlstate, o_detail = pg_exception_detail,
                              o_constraint = constraint_name;
      return next;
    end;
    v_index := v_index + 1;
  end loop;
  -- Subscribers in every process wake when this commits (NOTIFY is sent at commit, never before).
  if v_stored then perform pg_notify('ll_events', ''); end if;
end $$;
`,
  },
];
