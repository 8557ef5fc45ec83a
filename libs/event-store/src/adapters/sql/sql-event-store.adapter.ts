import { SqlError, type SqlClient } from '@ledgerline/database';
import {
  GroupCommit,
  LedgerlineError,
  START_POSITION,
  type Clock,
  type EventStoreLimits,
  type EventToAppend,
  type GlobalPosition,
  type PendingItem,
  type RecordedEvent,
} from '@ledgerline/kernel';
import { assertValidStreamId, validateAppend } from '../../append-validation';
import { assertFromRevision, readCount } from '../../read-validation';
import {
  EventIdConflictError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from '../../event-store.errors';
import type {
  AllFilter,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadAllPage,
  ReadStreamOptions,
  SubscribeOptions,
  Subscription,
} from '../../event-store.port';
import { PollingSubscription } from './polling-subscription';

export interface SqlEventStoreOptions {
  readonly limits: EventStoreLimits;
  readonly clock: Clock;
  /** Safety-net poll interval of subscriptions; notifications wake them sooner. */
  readonly pollIntervalMs: number;
  /**
   * Group commit: append groups committed at once (default: 2 on PostgreSQL, 1 on PGlite, whose
   * single connection runs one transaction at a time anyway).
   */
  readonly appendGroupsInFlight?: number;
}

const CHANNEL = 'll_events';

interface EventRow {
  tx_id: string;
  position: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  tenant_id: string;
  recorded_at: Date | string;
  metadata: Record<string, unknown>;
  data: Uint8Array | null;
  matches?: boolean;
}

/** One append waiting for its group: its stream (the group's lock order) and what `ll_append_many` takes. */
interface PendingAppend {
  readonly streamId: string;
  readonly json: string;
}

interface AppendRow {
  o_index: number;
  o_revision: string | null;
  o_tx_id: string | null;
  o_position: string | null;
  o_duplicate: boolean | null;
  o_error: string | null;
  o_detail: string | null;
  o_constraint: string | null;
}

const APPEND_MANY = `select o_index, o_revision, o_tx_id::text as o_tx_id, o_position, o_duplicate,
  o_error, o_detail, o_constraint from ll_append_many($1::jsonb)`;

const COLUMNS = `tx_id::text as tx_id, position, stream_id, revision, event_id::text as event_id, type,
  schema_version, tenant_id, recorded_at, metadata`;

// Only rows of transactions older than every running one are visible to $all readers: a row with a
// smaller (tx_id, position) can then never commit after we have read past it.
const SAFE = `tx_id < pg_snapshot_xmin(pg_current_snapshot())`;

const READ_ALL = `select ${COLUMNS}, data from ll_events
  where (tx_id, position) > ($1::xid8, $2::bigint) and ${SAFE}
  order by ll_events.tx_id, ll_events.position limit $3`;

// Filtered reads still scan in global order, so the cursor moves past events that do not match;
// their bodies are not sent.
const MATCH = `(($4::text[] is null or exists (select 1 from unnest($4::text[]) p where starts_with(stream_id, p)))
  and ($5::text[] is null or type = any($5::text[])))`;
const READ_ALL_FILTERED = `select ${COLUMNS}, case when ${MATCH} then data end as data, ${MATCH} as matches
  from ll_events
  where (tx_id, position) > ($1::xid8, $2::bigint) and ${SAFE}
  order by ll_events.tx_id, ll_events.position limit $3`;

/**
 * The PostgreSQL and PGlite event store: one class, one set of SQL, two SqlClient adapters.
 * Appends are a single call of the `ll_append` function (expected-revision check, idempotency and
 * insert in one round trip); `$all` order is (transaction id, sequence), see docs/adr/0003.
 */
export class SqlEventStore implements EventStore {
  private readonly subscriptions = new Set<PollingSubscription>();
  private unlisten: Promise<() => Promise<void>> | undefined;

  private readonly groups: GroupCommit<PendingAppend, AppendResult>;

  private constructor(
    private readonly client: SqlClient,
    private readonly options: SqlEventStoreOptions,
  ) {
    this.groups = new GroupCommit((group) => this.appendGroup(group), {
      maxInFlight: options.appendGroupsInFlight ?? (client.kind === 'pglite' ? 1 : 2),
      // Each append of a group is a subtransaction; past 64 in one transaction PostgreSQL's
      // snapshots overflow their subtransaction cache and every other session pays for it.
      maxItems: 60,
      maxWeight: 4 * options.limits.maxBatchBytes,
      weigh: (append) => append.json.length,
      // Concurrent groups lock stream rows in one order, so they cannot deadlock.
      order: (a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0),
    });
  }

  /** The store over a database whose schema is migrated (docs/adr/0027). */
  static create(client: SqlClient, options: SqlEventStoreOptions): SqlEventStore {
    return new SqlEventStore(client, options);
  }

  /**
   * Validated here; written with the appends that arrive meanwhile, to any streams, in one
   * statement and one commit (group commit, see GroupCommit). Acknowledged after that commit.
   */
  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    validateAppend(streamId, events, expected, this.options.limits);
    const json = JSON.stringify({
      stream: streamId,
      expected: typeof expected === 'bigint' ? expected.toString() : expected,
      at: (options.recordedAt ?? this.options.clock.now()).toISOString(),
      events: events.map((e) => ({
        id: e.eventId.toLowerCase(),
        type: e.type,
        v: e.schemaVersion,
        tenant: e.tenantId,
        meta: e.metadata,
        data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64'),
      })),
    });
    try {
      return await this.groups.submit({ streamId, json });
    } catch (error) {
      throw this.appendError(error, streamId, expected);
    }
  }

  /** One statement for the whole group; each append's rows (or its refusal) go back to its caller. */
  private async appendGroup(
    group: readonly PendingItem<PendingAppend, AppendResult>[],
  ): Promise<void> {
    const rows = await this.client.query<AppendRow>(
      APPEND_MANY,
      [`[${group.map((a) => a.item.json).join(',')}]`],
      { name: 'll_append_many' },
    );
    const last = new Map<number, AppendRow>();
    for (const row of rows) last.set(Number(row.o_index), row);
    group.forEach((append, index) => {
      const row = last.get(index);
      if (!row) {
        append.reject(new EventStoreUnavailableError(`stream ${append.item.streamId}: no result`));
      } else if (row.o_error !== null) {
        append.reject(
          new SqlError(row.o_error, row.o_detail ?? undefined, row.o_constraint ?? undefined),
        );
      } else {
        append.resolve({
          nextExpectedRevision: BigInt(row.o_revision!),
          position: { commit: BigInt(row.o_tx_id!), prepare: BigInt(row.o_position!) },
          duplicate: row.o_duplicate === true,
        });
      }
    });
  }

  private appendError(
    error: unknown,
    streamId: string,
    expected: ExpectedRevision,
  ): LedgerlineError {
    if (error instanceof SqlError) {
      if (error.sqlState === 'LL001') {
        const actual = BigInt(error.detail ?? '-1');
        return new WrongExpectedRevisionError(
          streamId,
          expected,
          actual < 0n ? 'no_stream' : actual,
        );
      }
      if (
        error.sqlState === 'LL002' ||
        (error.sqlState === '23505' && error.constraint === 'll_events_event_id')
      ) {
        return new EventIdConflictError(streamId);
      }
    }
    return this.storeError(error);
  }

  /** Refusals pass through as they are; anything else means the store could not be reached. */
  private storeError(error: unknown): LedgerlineError {
    if (error instanceof LedgerlineError && !error.retryable) return error;
    return new EventStoreUnavailableError('event store unavailable', { cause: error });
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertValidStreamId(streamId);
    const direction = options.direction ?? 'forwards';
    const maxCount = readCount(options.maxCount);
    const from = options.fromRevision ?? (direction === 'forwards' ? 'start' : 'end');
    assertFromRevision(from);
    let sql: string;
    let params: unknown[];
    let name: string;
    if (direction === 'forwards') {
      name = 'll_read_stream_fwd';
      sql = `select ${COLUMNS}, data from ll_events where stream_id = $1 and revision >= $2 order by revision asc limit $3`;
      params = [
        streamId,
        from === 'start' ? '0' : from === 'end' ? '9223372036854775807' : from.toString(),
        maxCount,
      ];
    } else {
      name = 'll_read_stream_bwd';
      sql = `select ${COLUMNS}, data from ll_events where stream_id = $1 and revision <= $2 order by revision desc limit $3`;
      params = [
        streamId,
        from === 'end' ? '9223372036854775807' : from === 'start' ? '0' : from.toString(),
        maxCount,
      ];
    }
    try {
      const rows = await this.client.query<EventRow>(sql, params, { name });
      return rows.map(toRecordedEvent);
    } catch (error) {
      throw this.storeError(error);
    }
  }

  async streamRevision(streamId: string): Promise<bigint | undefined> {
    assertValidStreamId(streamId);
    try {
      const rows = await this.client.query<{ revision: string }>(
        'select revision from ll_streams where stream_id = $1',
        [streamId],
        { name: 'll_stream_revision' },
      );
      const revision = rows[0] ? BigInt(rows[0].revision) : -1n;
      return revision < 0n ? undefined : revision;
    } catch (error) {
      throw this.storeError(error);
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const after = options.after ?? START_POSITION;
    const maxCount = readCount(options.maxCount);
    const filter = normaliseFilter(options.filter);
    let rows: EventRow[];
    try {
      rows = filter
        ? await this.client.query<EventRow>(
            READ_ALL_FILTERED,
            [
              after.commit.toString(),
              after.prepare.toString(),
              maxCount,
              filter.streamPrefixes ?? null,
              filter.eventTypes ?? null,
            ],
            { name: 'll_read_all_filtered' },
          )
        : await this.client.query<EventRow>(
            READ_ALL,
            [after.commit.toString(), after.prepare.toString(), maxCount],
            {
              name: 'll_read_all',
            },
          );
    } catch (error) {
      throw this.storeError(error);
    }
    const last = rows[rows.length - 1];
    return {
      events: rows.filter((r) => r.matches !== false).map(toRecordedEvent),
      next: last ? { commit: BigInt(last.tx_id), prepare: BigInt(last.position) } : after,
      more: rows.length === maxCount,
    };
  }

  async headPosition(): Promise<GlobalPosition> {
    try {
      const [row] = await this.client.query<{ tx_id: string; position: string }>(
        `select tx_id::text as tx_id, position from ll_events
          order by ll_events.tx_id desc, ll_events.position desc limit 1`,
        [],
        { name: 'll_head_position' },
      );
      return row ? { commit: BigInt(row.tx_id), prepare: BigInt(row.position) } : START_POSITION;
    } catch (error) {
      throw this.storeError(error);
    }
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const subscription = new PollingSubscription(this, options, this.options.pollIntervalMs, () => {
      this.subscriptions.delete(subscription);
    });
    this.subscriptions.add(subscription);
    this.unlisten ??= this.client.listen(CHANNEL, () => {
      for (const s of this.subscriptions) s.wake();
    });
    // A listener that fails to start leaves the poll as the only wake-up; the subscription still works.
    this.unlisten.catch((error: unknown) => options.onRetry?.(error, 0));
    subscription.start();
    return subscription;
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (error) {
      throw this.storeError(error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    if (unlisten) await (await unlisten.catch(() => () => Promise.resolve()))();
  }
}

function normaliseFilter(filter: AllFilter | undefined): AllFilter | undefined {
  if (!filter) return undefined;
  const streamPrefixes = filter.streamPrefixes?.length ? [...filter.streamPrefixes] : undefined;
  const eventTypes = filter.eventTypes?.length ? [...filter.eventTypes] : undefined;
  if (!streamPrefixes && !eventTypes) return undefined;
  return { streamPrefixes, eventTypes };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    position: { commit: BigInt(row.tx_id), prepare: BigInt(row.position) } satisfies GlobalPosition,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: Number(row.schema_version),
    tenantId: row.tenant_id,
    recordedAt: row.recorded_at instanceof Date ? row.recorded_at : new Date(row.recorded_at),
    metadata: row.metadata,
    data: row.data ?? new Uint8Array(0),
  };
}
