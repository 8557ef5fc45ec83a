import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
} from 'prom-client';

/** How an append ended: written, a retried event id answered with the original (a no-op), a wrong expected revision, or a failure. */
export type AppendOutcome = 'appended' | 'duplicate' | 'conflict' | 'error';
/** `query` and `exec` calls; `transaction`: its BEGIN and its COMMIT or ROLLBACK (two per transaction). */
export type SqlStatementKind = 'query' | 'exec' | 'transaction';
/** An explicit transaction that committed, or a statement (or script) run outside one: its own implicit transaction. */
export type SqlCommitKind = 'transaction' | 'implicit';
/** The two WebSocket transports whose connections are counted. */
export type ConnectionTransport = 'realtime' | 'graphql-ws';
/** An event frame sent as it happened, or while catching a client up. */
export type DeliveryPath = 'live' | 'catch_up';
/** KeyProvider port calls (KMS requests with AWS KMS). */
export type KeyProviderOperation = 'generate' | 'unwrap' | 'rewrap' | 'describe' | 'rotate';
export type CallOutcome = 'ok' | 'error';

/**
 * Latency buckets in seconds, from 1 ms to 10 s; 50 ms is one of them, the p99 target of the
 * realtime benchmark.
 */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Distinct projection names kept as label values; past that (a bug), they show as `other`. */
const MAX_PROJECTION_NAMES = 100;
const PROJECTION_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const LOOKS_LIKE_AN_ID = /[0-9a-f]{8}-[0-9a-f]{4}-|\d{6,}/i;

export interface MetricsOptions {
  /** Also collect Node's default process metrics (CPU, memory, event loop, GC). Default: true. */
  readonly defaultMetrics?: boolean;
}

/**
 * The process's instruments, on a Prometheus registry of its own (never prom-client's global one,
 * so two apps, or two tests, in one process do not share counters).
 *
 * Label values are fixed enumerations and projection names only. Nothing that identifies a
 * tenant, user, device, stream, conversation or message is ever a label: labels are exported in
 * clear to whoever scrapes, and each distinct value is a time series kept forever.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Append calls to the event store, by how they ended (`countAppend`). */
  readonly appends: Counter<'outcome'>;
  /** Events written by successful appends (`countAppend`). */
  readonly appendedEvents: Counter;
  /** SQL statements sent through the SqlClient, by kind (`countSqlStatement`). */
  readonly sqlStatements: Counter<'kind'>;
  /** Commits: explicit transactions committed, and statements run outside one (`countCommit`). */
  readonly sqlCommits: Counter<'kind'>;
  /** Transactions rolled back (`countRollback`). */
  readonly sqlRollbacks: Counter;
  /** Events a projection applied, by projection name (`countProjectionEvents`). */
  readonly projectionEvents: Counter<'projection'>;
  /** How many global positions (events) a projection is behind the store's head (`setProjectionLag`). */
  readonly projectionLagEvents: Gauge<'projection'>;
  /** How old the newest event a projection has not applied yet is, in seconds (`setProjectionLag`). */
  readonly projectionLagSeconds: Gauge<'projection'>;
  /** WebSocket connections open now, by transport (`connectionOpened` / `connectionClosed`). */
  readonly connections: Gauge<'transport'>;
  /** Event frames handed to a client connection (`countDelivery`). */
  readonly deliveries: Counter<'path'>;
  /** From a realtime `send` frame's arrival to its reply handed to the socket (`observeSendToAck`). */
  readonly sendToAck: Histogram<'outcome'>;
  /** From an event's append (its recordedAt) to its frame handed to a live connection (`observeAppendToDeliver`). */
  readonly appendToDeliver: Histogram;
  /** Data-key cache lookups, by result (`countDataKeyLookup`). */
  readonly dataKeyLookups: Counter<'result'>;
  /** KeyProvider calls (KMS requests with AWS KMS), by operation and outcome (`countKeyProviderCall`). */
  readonly keyProviderCalls: Counter<'operation' | 'outcome'>;

  private readonly projectionNames = new Map<string, string>();

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const counter = <L extends string>(config: CounterConfiguration<L>) =>
      new Counter<L>({ ...config, registers });
    this.appends = counter({
      name: 'ledgerline_event_appends_total',
      help: 'Appends to the event store, by outcome (appended, duplicate, conflict, error).',
      labelNames: ['outcome'],
    });
    this.appendedEvents = counter({
      name: 'ledgerline_events_appended_total',
      help: 'Events written to the event store.',
    });
    this.sqlStatements = counter({
      name: 'ledgerline_sql_statements_total',
      help: 'SQL statements sent: query and exec calls, and transaction control (BEGIN and COMMIT or ROLLBACK: two per transaction).',
      labelNames: ['kind'],
    });
    this.sqlCommits = counter({
      name: 'ledgerline_sql_commits_total',
      help: 'Commits: explicit transactions committed (transaction), and statements or scripts run outside one, each its own transaction (implicit; only those that wrote flush the WAL).',
      labelNames: ['kind'],
    });
    this.sqlRollbacks = counter({
      name: 'ledgerline_sql_rollbacks_total',
      help: 'Transactions rolled back.',
    });
    this.projectionEvents = counter({
      name: 'ledgerline_projection_events_total',
      help: 'Events applied, by projection.',
      labelNames: ['projection'],
    });
    this.projectionLagEvents = new Gauge({
      name: 'ledgerline_projection_lag_events',
      help: 'Events a projection has yet to apply up to the head of $all, by projection.',
      labelNames: ['projection'],
      registers,
    });
    this.projectionLagSeconds = new Gauge({
      name: 'ledgerline_projection_lag_seconds',
      help: 'Age of the oldest event a projection has yet to apply (0 when caught up), by projection.',
      labelNames: ['projection'],
      registers,
    });
    this.connections = new Gauge({
      name: 'ledgerline_connections',
      help: 'WebSocket connections open now, by transport (realtime, graphql-ws).',
      labelNames: ['transport'],
      registers,
    });
    this.deliveries = counter({
      name: 'ledgerline_deliveries_total',
      help: 'Event frames handed to client connections, by path (live, catch_up).',
      labelNames: ['path'],
    });
    this.sendToAck = new Histogram({
      name: 'ledgerline_send_to_ack_seconds',
      help: 'Realtime send: from the frame received to its reply handed to the socket, by outcome.',
      labelNames: ['outcome'],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.appendToDeliver = new Histogram({
      name: 'ledgerline_append_to_deliver_seconds',
      help: 'From an event appended (its recordedAt) to its frame handed to a live connection.',
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.dataKeyLookups = counter({
      name: 'ledgerline_data_key_cache_lookups_total',
      help: 'Lookups in the in-memory data-key cache, by result (hit, miss).',
      labelNames: ['result'],
    });
    this.keyProviderCalls = counter({
      name: 'ledgerline_key_provider_calls_total',
      help: 'KeyProvider calls (KMS requests with AWS KMS), by operation and outcome.',
      labelNames: ['operation', 'outcome'],
    });
    // Series that exist from the start read 0 rather than being absent.
    for (const transport of ['realtime', 'graphql-ws'] as const)
      this.connections.set({ transport }, 0);
    for (const kind of ['query', 'exec', 'transaction'] as const)
      this.sqlStatements.inc({ kind }, 0);
    for (const kind of ['transaction', 'implicit'] as const) this.sqlCommits.inc({ kind }, 0);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every instrument. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** One append call that ended with `outcome`; `events` written when it was `appended`. */
  countAppend(outcome: AppendOutcome, events = 0): void {
    this.appends.inc({ outcome });
    if (outcome === 'appended' && events > 0) this.appendedEvents.inc(events);
  }

  countSqlStatement(kind: SqlStatementKind, statements = 1): void {
    this.sqlStatements.inc({ kind }, statements);
  }

  countCommit(kind: SqlCommitKind): void {
    this.sqlCommits.inc({ kind });
  }

  countRollback(): void {
    this.sqlRollbacks.inc();
  }

  /** `events` applied by the projection named `projection` (a name from code, never an id). */
  countProjectionEvents(projection: string, events = 1): void {
    if (events > 0)
      this.projectionEvents.inc({ projection: this.projectionLabel(projection) }, events);
  }

  /**
   * How far the projection is behind: `events` between its checkpoint and the head of `$all`,
   * and/or `seconds` since the oldest event it has not applied was recorded (0 when caught up).
   */
  setProjectionLag(
    projection: string,
    lag: { readonly events?: number | bigint; readonly seconds?: number },
  ): void {
    const label = { projection: this.projectionLabel(projection) };
    if (lag.events !== undefined) this.projectionLagEvents.set(label, Number(lag.events));
    if (lag.seconds !== undefined) this.projectionLagSeconds.set(label, Math.max(0, lag.seconds));
  }

  connectionOpened(transport: ConnectionTransport): void {
    this.connections.inc({ transport });
  }

  connectionClosed(transport: ConnectionTransport): void {
    this.connections.dec({ transport });
  }

  /** An event frame handed to a client connection. */
  countDelivery(path: DeliveryPath, frames = 1): void {
    this.deliveries.inc({ path }, frames);
  }

  observeSendToAck(seconds: number, outcome: CallOutcome): void {
    this.sendToAck.observe({ outcome }, Math.max(0, seconds));
  }

  /** Seconds from the event's append (recordedAt) to its frame handed to a live connection. */
  observeAppendToDeliver(seconds: number): void {
    this.appendToDeliver.observe(Math.max(0, seconds));
  }

  countDataKeyLookup(result: 'hit' | 'miss'): void {
    this.dataKeyLookups.inc({ result });
  }

  countKeyProviderCall(operation: KeyProviderOperation, outcome: CallOutcome): void {
    this.keyProviderCalls.inc({ operation, outcome });
  }

  /**
   * A projection's name as a label value: its own name when it looks like one (short, from code),
   * `other` when it looks like an id or once too many names were seen, so a mistake cannot put an
   * id into a label or grow the series without bound.
   */
  private projectionLabel(name: string): string {
    const known = this.projectionNames.get(name);
    if (known !== undefined) return known;
    const label =
      PROJECTION_NAME.test(name) &&
      !LOOKS_LIKE_AN_ID.test(name) &&
      this.projectionNames.size < MAX_PROJECTION_NAMES
        ? name
        : 'other';
    if (this.projectionNames.size < MAX_PROJECTION_NAMES) this.projectionNames.set(name, label);
    return label;
  }
}
