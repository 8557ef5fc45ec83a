import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  binaryEvent,
  type AppendExpectedRevision,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import {
  START_POSITION,
  ValidationError,
  type Clock,
  type EventStoreLimits,
  type EventToAppend,
  type GlobalPosition,
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
import {
  appendIdOf,
  collect,
  commandError,
  encodeMetadata,
  isAfter,
  matchesFilter,
  normaliseFilter,
  toRecordedEvent,
  toStoreError,
} from './eventstoredb-mapping';
import { EventStoreDbSubscription } from './eventstoredb-subscription';

export interface EventStoreDbOptions {
  readonly limits: EventStoreLimits;
  readonly clock: Clock;
  /**
   * How far back (in events) a retried append looks for its event ids when the server's own
   * idempotency check cannot answer (expected revision `any`/`stream_exists`, or a stale one).
   */
  readonly idempotencyWindow?: number;
}

const DEFAULT_IDEMPOTENCY_WINDOW = 1_000;

/**
 * The EventStoreDB adapter, on `@eventstore/db-client`. Events are written as binary events; the
 * envelope fields EventStoreDB has no column for (tenant, schema version, recorded-at) travel in a
 * reserved metadata key. `$all` positions are the server's own (commit, prepare) pair.
 *
 * Differences from the SQL adapter, stated where the contract suite skips them by name:
 * - EventStoreDB does not index event ids across streams, so re-using an event id in another stream
 *   is not detected (the SQL adapter refuses it).
 * - A retried append is recognised within the last `idempotencyWindow` events of its stream.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly subscriptions = new Set<EventStoreDbSubscription>();
  private readonly window: number;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: EventStoreDbOptions,
    private readonly ownsClient = false,
  ) {
    this.window = options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW;
  }

  /** Connects with an `esdb://` / `esdb+discover://` connection string and checks the server answers. */
  static async connect(url: string, options: EventStoreDbOptions): Promise<EventStoreDbEventStore> {
    let client: EventStoreDBClient;
    try {
      client = EventStoreDBClient.connectionString(url);
    } catch {
      // The connection string may hold credentials: never echo it.
      throw new ValidationError(
        'EVENTSTORE_URL is not a valid EventStoreDB connection string',
        'EVENTSTORE_URL',
      );
    }
    const store = new EventStoreDbEventStore(client, options, true);
    try {
      await store.ping();
    } catch (error) {
      await client.dispose().catch(() => undefined);
      throw error;
    }
    return store;
  }

  async appendToStream(
    streamId: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    validateAppend(streamId, events, expected, this.options.limits);
    const ids = events.map((e) => e.eventId.toLowerCase());
    // A retry with a loose expectation cannot rely on the server's short-lived idempotency cache.
    if (typeof expected !== 'bigint' && expected !== 'no_stream') {
      const earlier = await this.findBatch(streamId, ids);
      if (earlier) return earlier;
    }
    const appendId = randomUUID();
    const recordedAt = (options.recordedAt ?? this.options.clock.now()).toISOString();
    const data = events.map((e, i) =>
      binaryEvent({
        id: ids[i],
        type: e.type,
        data: e.data,
        metadata: encodeMetadata(e, {
          tenantId: e.tenantId,
          schemaVersion: e.schemaVersion,
          recordedAt,
          appendId,
        }),
      }),
    );
    try {
      const result = await this.client.appendToStream(streamId, data, {
        expectedRevision: toEsdbExpected(expected),
      });
      if (!result.position) {
        throw new EventStoreUnavailableError(`stream ${streamId}: the server returned no position`);
      }
      // The server answers an idempotent retry with the original result: tell it apart by the
      // append id stored with the last event.
      const [last] = await this.readRaw(streamId, FORWARDS, result.nextExpectedRevision, 1);
      return {
        nextExpectedRevision: result.nextExpectedRevision,
        position: last?.event?.position ?? result.position,
        duplicate: last?.event ? appendIdOf(last.event) !== appendId : false,
      };
    } catch (error) {
      const e = commandError(error);
      if (e instanceof WrongExpectedVersionError) {
        const earlier = await this.findBatch(streamId, ids);
        if (earlier) return earlier;
        throw new WrongExpectedRevisionError(
          streamId,
          expected,
          e.actualVersion === NO_STREAM ? 'no_stream' : e.actualVersion,
        );
      }
      throw toStoreError(e);
    }
  }

  /**
   * Looks for the batch's ids among the stream's last events. All of them, consecutive and in
   * order: the original result (duplicate). Some of them: EventIdConflictError. None: undefined.
   */
  private async findBatch(
    streamId: string,
    ids: readonly string[],
  ): Promise<AppendResult | undefined> {
    const recent = await this.readRaw(streamId, BACKWARDS, END, this.window);
    const wanted = new Set(ids);
    const found = recent.filter((r) => wanted.has(r.event!.id.toLowerCase())).reverse();
    if (found.length === 0) return undefined;
    const inOrder =
      found.length === ids.length &&
      found.every(
        (r, i) =>
          r.event!.id.toLowerCase() === ids[i] &&
          (i === 0 || r.event!.revision === found[i - 1]!.event!.revision + 1n),
      );
    if (!inOrder) throw new EventIdConflictError(streamId);
    const last = toRecordedEvent(found[found.length - 1]!.event!);
    return { nextExpectedRevision: last.revision, position: last.position, duplicate: true };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertValidStreamId(streamId);
    const direction = options.direction ?? 'forwards';
    const maxCount = readCount(options.maxCount);
    const from = options.fromRevision ?? (direction === 'forwards' ? 'start' : 'end');
    assertFromRevision(from);
    const rows = await this.readRaw(
      streamId,
      direction === 'forwards' ? FORWARDS : BACKWARDS,
      from === 'start' ? START : from === 'end' ? END : from,
      maxCount,
    );
    return rows.map((r) => toRecordedEvent(r.event!));
  }

  private async readRaw(
    streamId: string,
    direction: typeof FORWARDS | typeof BACKWARDS,
    fromRevision: typeof START | typeof END | bigint,
    maxCount: number,
  ): Promise<ResolvedEvent[]> {
    // Reading forwards from the end is empty by definition; the server would wait for nothing.
    if (direction === FORWARDS && fromRevision === END) return [];
    try {
      const rows = await collect(
        this.client.readStream(streamId, { direction, fromRevision, maxCount: BigInt(maxCount) }),
      );
      return rows.filter((r) => r.event !== undefined);
    } catch (error) {
      const e = commandError(error);
      if (e instanceof StreamNotFoundError) return [];
      throw toStoreError(e);
    }
  }

  async streamRevision(streamId: string): Promise<bigint | undefined> {
    const [last] = await this.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return last?.revision;
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const maxCount = readCount(options.maxCount);
    const filter = normaliseFilter(options.filter);
    const after = options.after ?? START_POSITION;
    const fromStart = after.commit === 0n && after.prepare === 0n;
    let rows: AllStreamResolvedEvent[];
    try {
      // `fromPosition` is inclusive on the server: read one more and drop `after` itself.
      rows = await collect(
        this.client.readAll({
          direction: FORWARDS,
          fromPosition: fromStart ? START : after,
          maxCount: BigInt(maxCount + (fromStart ? 0 : 1)),
        }),
      );
    } catch (error) {
      throw toStoreError(error);
    }
    const raw = rows
      .filter((r) => r.event && isAfter(r.event.position, options.after))
      .slice(0, maxCount);
    const last = raw[raw.length - 1]?.event;
    return {
      events: raw
        .filter((r) => matchesFilter(r.event!, filter))
        .map((r) => toRecordedEvent(r.event!)),
      next: last ? last.position : after,
      more: raw.length === maxCount,
    };
  }

  async headPosition(): Promise<GlobalPosition> {
    let rows: AllStreamResolvedEvent[];
    try {
      rows = await collect(
        this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1n }),
      );
    } catch (error) {
      throw toStoreError(error);
    }
    return rows[0]?.event?.position ?? START_POSITION;
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const subscription = new EventStoreDbSubscription(this.client, options, () => {
      this.subscriptions.delete(subscription);
    });
    this.subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  async ping(): Promise<void> {
    try {
      await collect(this.client.readAll({ maxCount: 1n, direction: BACKWARDS, fromPosition: END }));
    } catch (error) {
      const e = toStoreError(error);
      throw e instanceof EventStoreUnavailableError
        ? e
        : new EventStoreUnavailableError('EventStoreDB did not answer', { cause: e });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (this.ownsClient) await this.client.dispose();
  }
}

function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}
