import type { EventToAppend, GlobalPosition, RecordedEvent, StreamId } from '@ledgerline/kernel';

/** What the caller believes about the stream before appending. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

export interface AppendResult {
  /** Revision of the last event of the batch: the expected revision for the next append. */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last event of the batch. */
  readonly position: GlobalPosition;
  /** True when every event id was already written and nothing new was stored. */
  readonly duplicate: boolean;
}

export interface AppendOptions {
  /**
   * The time recorded with every event of the batch. Default: the store's clock. The ledger passes
   * its own, because the recorded time is covered by each sealed event's hash.
   */
  readonly recordedAt?: Date;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive. Default: 'start' forwards, 'end' backwards. */
  readonly fromRevision?: bigint | 'start' | 'end';
  readonly maxCount?: number;
}

/** Both parts must match when both are given. */
export interface AllFilter {
  readonly streamPrefixes?: readonly string[];
  readonly eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Default: the beginning. */
  readonly after?: GlobalPosition;
  readonly maxCount?: number;
  readonly filter?: AllFilter;
}

export interface ReadAllPage {
  readonly events: readonly RecordedEvent[];
  /** Where the next page starts (pass as `after`); moves past filtered-out events too. */
  readonly next: GlobalPosition;
  /** False when the page reached the current end of the log. */
  readonly more: boolean;
}

export interface SubscribeOptions {
  /** Exclusive, like ReadAllOptions.after. Default: the beginning. */
  readonly after?: GlobalPosition;
  readonly filter?: AllFilter;
  /** Awaited before the next event is delivered; a throw stops the subscription with that error. */
  readonly onEvent: (event: RecordedEvent) => Promise<void>;
  /** Called each time the subscription has delivered everything committed so far. */
  readonly onCaughtUp?: (position: GlobalPosition) => void | Promise<void>;
  /** Called for each transient failure the subscription retries on its own. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

export interface Subscription {
  /** Stops delivering; resolves once the current handler call has returned. */
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves after stop(), rejects with a handler's error. */
  readonly done: Promise<void>;
}

/**
 * The log every fact of Ledgerline is written to. Every adapter (PostgreSQL, PGlite, EventStoreDB)
 * passes the same contract suite and guarantees:
 *
 * - Append is atomic per call: all events of the batch are stored, consecutively, or none are.
 * - The expected revision is checked atomically with the write; a mismatch raises
 *   WrongExpectedRevisionError carrying the stream's actual revision.
 * - Event ids are unique across the store. Re-sending an append whose event ids were all already
 *   written to that stream, in that order, writes nothing and returns the original result with
 *   `duplicate: true`, whatever expected revision it carries; a batch that repeats only some ids,
 *   or ids from another stream, raises EventIdConflictError.
 * - Invalid stream names, events, expected revisions and anything over the configured caps are
 *   refused with a ValidationError before anything is written.
 * - `$all` order is total and stable: once an event has been read at a position, no event is ever
 *   committed before it. Reads and subscriptions therefore never skip an event, even when
 *   concurrent transactions take positions in one order and commit in another.
 * - A subscription delivers every matching event after its start position exactly once per run, in
 *   `$all` order, then keeps delivering new events without a gap; across restarts from a saved
 *   checkpoint delivery is at-least-once. Transient failures are retried; handler errors end it.
 * - Connection failures raise a retryable UnavailableError and leave nothing half-written.
 */
export interface EventStore {
  appendToStream(
    streamId: StreamId,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
    options?: AppendOptions,
  ): Promise<AppendResult>;
  readStream(streamId: StreamId, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The stream's last revision, or undefined when it has no events. */
  streamRevision(streamId: StreamId): Promise<bigint | undefined>;
  readAll(options?: ReadAllOptions): Promise<ReadAllPage>;
  /**
   * The position of the last committed event (START_POSITION for an empty store), whether or not
   * `$all` readers can see it yet: where a reader that wants only what comes next starts.
   */
  headPosition(): Promise<GlobalPosition>;
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** Resolves when the store answers; throws UnavailableError otherwise. */
  ping(): Promise<void>;
  /** Stops every subscription this store started. Does not close a client it was given. */
  close(): Promise<void>;
}

/**
 * Durable named positions for subscriptions (projections, push, export). Kept in PostgreSQL next to
 * the read models they describe, whichever adapter holds the events.
 */
export interface CheckpointStore {
  load(name: string): Promise<GlobalPosition | undefined>;
  save(name: string, position: GlobalPosition): Promise<void>;
}
