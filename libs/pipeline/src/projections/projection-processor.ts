import { type SqlClient, type SqlExecutor } from '@ledgerline/database';
import type { Subscription } from '@ledgerline/event-store';
import {
  LedgerlineError,
  Pause,
  UnavailableError,
  ValidationError,
  comparePositions,
  describeError,
  encodePosition,
  type GlobalPosition,
} from '@ledgerline/kernel';
import type { Ledger, OpenedEvent } from '@ledgerline/ledger';
import { applyAll, projects, type Projection } from './projection';
import { rebuildBlueGreen, type RebuildOutcome } from './blue-green-rebuild';
import {
  loadCheckpoints,
  recordFailure,
  resetCheckpoint,
  saveCheckpoints,
} from './projection-checkpoints';

/** Where the processor reports: ids, positions and error codes only, never an event's content. */
export interface ProjectionLog {
  warn(fields: Record<string, unknown>): void;
  error(fields: Record<string, unknown>): void;
}

/** What the processor counts, for metrics. Names are projection names: never tenant data. */
export interface ProjectionMetrics {
  /** `count` events applied to `projection` in one committed batch. */
  applied(projection: string, count: number): void;
  /** One batch committed (one transaction for every projection). */
  committed(): void;
  /** Seconds between the newest event of a committed batch being recorded and now (0: caught up). */
  lag(projection: string, seconds: number): void;
}

export interface ProjectionProcessorOptions {
  /** Events applied in one transaction at most (default 256). */
  readonly batchMax?: number;
  /** First wait before reading again after a failure; doubles up to `maxRestartDelayMs`. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  readonly log?: ProjectionLog;
  readonly metrics?: ProjectionMetrics;
  /** For lag and retry times (tests pass their own). */
  readonly now?: () => number;
}

export interface ProjectionStatus {
  readonly name: string;
  /** Last position committed to its tables (undefined: nothing yet). */
  readonly checkpoint: GlobalPosition | undefined;
  /** Set while it is stopped on an event it could not apply. */
  readonly failed?: { readonly code: string; readonly position: GlobalPosition };
}

interface Slot {
  readonly projection: Projection;
  /** Committed position of its tables, as last read or written by this process. */
  checkpoint: GlobalPosition | undefined;
  /** Everything up to here is in its tables (committed by this process or another). */
  progress: GlobalPosition | undefined;
  /** It has been applied up to the end of the log (as it was) at least once since it started. */
  caughtUp: boolean;
  applied: number;
  /** Stops in a row; reset once it applies a batch again. */
  failures: number;
  failed: { code: string; position: GlobalPosition; retryAt: number } | undefined;
}

/** Ends the shared subscription so that the loop starts it again from the lowest checkpoint. */
class RestartReading extends Error {}

/**
 * A projection threw while applying an event. Carried out of the transaction as it is (a
 * LedgerlineError passes the SqlClient's error mapping untouched), so the processor can tell a
 * projection's failure from the database's.
 */
class ApplyFailed extends LedgerlineError {
  readonly code = 'projection_apply_failed';
  constructor(
    readonly slot: Slot,
    readonly event: OpenedEvent,
    override readonly cause: unknown,
  ) {
    super('a projection could not apply an event', { cause });
  }
}

/**
 * A projection's `applyBatch` threw: the batch is applied again with that projection taking its
 * events one at a time, so that a failure names its event (ApplyFailed) or, when the batch path
 * was at fault, the one-by-one path applies it.
 */
class BatchFailed extends LedgerlineError {
  readonly code = 'projection_batch_failed';
  constructor(
    readonly slot: Slot,
    override readonly cause: unknown,
  ) {
    super('a projection could not apply a batch', { cause });
  }
}

/** Applies a projection's events of a batch: in one `applyBatch` when it may, else one by one. */
async function applyTo(
  tx: SqlExecutor,
  slot: Slot,
  events: readonly OpenedEvent[],
  batched: boolean,
): Promise<void> {
  if (batched && slot.projection.applyBatch && events.length > 1) {
    try {
      await applyAll(tx, slot.projection, events);
    } catch (error) {
      throw new BatchFailed(slot, error);
    }
    return;
  }
  for (const event of events) {
    try {
      await slot.projection.apply(tx, event);
    } catch (error) {
      throw new ApplyFailed(slot, event, error);
    }
  }
}

const SILENT: ProjectionLog = { warn: () => undefined, error: () => undefined };

/**
 * The one projection processor: every read model of the process rides on one `$all` subscription.
 *
 * - Each event is read once, verified and decrypted once (by the ledger), and handed to every
 *   projection whose streams it belongs to.
 * - Events are applied in batches (up to `batchMax`, or whatever is there when the log is caught
 *   up): one transaction for all projections, which locks their checkpoint rows, skips events a
 *   projection already has (another node got there first) and moves every checkpoint in one
 *   statement. So the rows and the checkpoint never disagree, nodes never apply an event twice,
 *   and a delivered message costs its projections' writes plus a share of one commit.
 * - A projection that throws on an event (not a database outage) stops alone, with an alert that
 *   names the event's position; the batch is applied again without it, and it is retried from its
 *   own checkpoint after a doubling delay. Nothing is ever skipped.
 * - A database outage ends the batch (nothing of it commits) and reading resumes from the
 *   checkpoints after a doubling delay.
 * - `rebuild` builds a projection's tables anew beside the live ones from the first event
 *   (blue/green) and swaps them in, with the checkpoint, once caught up: reads are served from
 *   the old tables throughout.
 */
export class ProjectionProcessor {
  private readonly slots = new Map<string, Slot>();
  private readonly waiters = new Set<() => void>();
  private readonly pause = new Pause();
  private readonly batchMax: number;
  private readonly log: ProjectionLog;
  private readonly now: () => number;
  private buffer: OpenedEvent[] = [];
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private stopped = true;
  private restartRequested = false;

  private constructor(
    private readonly client: SqlClient,
    private readonly ledger: Pick<Ledger, 'subscribe'>,
    private readonly options: ProjectionProcessorOptions,
  ) {
    this.batchMax = options.batchMax ?? 256;
    this.log = options.log ?? SILENT;
    this.now = options.now ?? Date.now;
  }

  /** Projections are registered before `start`; the tables are migrated at start (ADR 0027). */
  static create(
    client: SqlClient,
    ledger: Pick<Ledger, 'subscribe'>,
    options: ProjectionProcessorOptions = {},
  ): ProjectionProcessor {
    return new ProjectionProcessor(client, ledger, options);
  }

  /** Adds a projection (before start, or it waits for the next restart of reading). */
  register(projection: Projection): void {
    if (this.slots.has(projection.name)) {
      throw new ValidationError(`projection ${projection.name} is registered twice`, 'projection');
    }
    this.slots.set(projection.name, {
      projection,
      checkpoint: undefined,
      progress: undefined,
      caughtUp: false,
      applied: 0,
      failures: 0,
      failed: undefined,
    });
    this.restartRequested = true;
  }

  get names(): readonly string[] {
    return [...this.slots.keys()];
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Starts reading (in the background); no-op when running. */
  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops reading, letting the batch in hand commit or roll back. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause.interrupt();
    await this.subscription?.stop().catch(() => undefined);
    await this.loop;
    this.loop = undefined;
    this.buffer = [];
  }

  /** Each projection's committed position and failure, as this process knows them. */
  status(): ProjectionStatus[] {
    return [...this.slots.values()].map((s) => ({
      name: s.projection.name,
      checkpoint: s.checkpoint,
      ...(s.failed ? { failed: { code: s.failed.code, position: s.failed.position } } : {}),
    }));
  }

  /**
   * Resolves once the named projections (default: all) hold the log up to `position`, e.g. the
   * position an ack carries (read-your-writes); UnavailableError after `timeoutMs`.
   */
  waitFor(
    position: GlobalPosition,
    options: { readonly timeoutMs?: number; readonly names?: readonly string[] } = {},
  ): Promise<void> {
    const slots = this.select(options.names);
    return new Promise((resolve, reject) => {
      const check = () => {
        const done = slots.every(
          (s) => s.progress !== undefined && comparePositions(s.progress, position) >= 0,
        );
        if (!done) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new UnavailableError('projections did not reach the position in time'));
      }, options.timeoutMs ?? 10_000);
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Rebuilds the named projections (default: every rebuildable one) blue/green, one after
   * another; reads keep being served from the live tables until each swap.
   */
  async rebuild(names?: readonly string[]): Promise<RebuildOutcome[]> {
    const slots = this.select(names).filter((s) => names || s.projection.tables.length > 0);
    const outcomes: RebuildOutcome[] = [];
    for (const slot of slots) {
      const outcome = await rebuildBlueGreen(this.client, this.ledger, slot.projection, {
        batchMax: this.batchMax,
      });
      slot.checkpoint = outcome.position;
      slot.failed = undefined;
      this.restartRequested = true;
      outcomes.push(outcome);
    }
    return outcomes;
  }

  /**
   * Reads the whole log into one projection again over the rows it has (for an append-only read
   * model that cannot be emptied): its checkpoint goes back to the start. Resolves once it has
   * caught up; a processor that was not running is stopped again afterwards.
   */
  async replay(
    name: string,
  ): Promise<{ readonly generation: number; readonly eventsApplied: number }> {
    const [slot] = this.select([name]);
    const wasRunning = this.loop !== undefined;
    await this.stop();
    const generation = await resetCheckpoint(this.client, name);
    slot!.checkpoint = undefined;
    slot!.progress = undefined;
    slot!.caughtUp = false;
    slot!.failed = undefined;
    const before = slot!.applied;
    this.start();
    try {
      await this.caughtUp(slot!);
    } finally {
      if (!wasRunning) await this.stop();
    }
    return { generation, eventsApplied: slot!.applied - before };
  }

  private caughtUp(slot: Slot): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!slot.caughtUp) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private select(names: readonly string[] | undefined): Slot[] {
    if (names === undefined || names.length === 0) return [...this.slots.values()];
    const unknown = names.filter((n) => !this.slots.has(n));
    if (unknown.length > 0) {
      throw new ValidationError(
        `unknown projection(s) ${unknown.join(', ')}; known: ${this.names.join(', ')}`,
        'projection',
      );
    }
    return [...new Set(names)].map((n) => this.slots.get(n)!);
  }

  private active(): Slot[] {
    return [...this.slots.values()].filter((s) => !s.failed);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        this.restartRequested = false;
        this.buffer = [];
        this.retryDueProjections();
        const checkpoints = await loadCheckpoints(this.client, this.names);
        for (const slot of this.slots.values()) {
          slot.checkpoint = checkpoints.get(slot.projection.name);
        }
        const active = this.active();
        if (active.length === 0) {
          await this.pause.sleep(this.nextRetryInMs());
          continue;
        }
        const from = lowest(active.map((s) => s.checkpoint));
        const prefixes = [...new Set(active.flatMap((s) => s.projection.streamPrefixes))];
        const subscription = this.ledger.subscribe({
          ...(from ? { after: from } : {}),
          filter: { streamPrefixes: prefixes },
          onEvent: (event) => this.onEvent(event),
          onCaughtUp: (position) => this.onCaughtUp(position),
          onRetry: (error, attempt) =>
            this.log.warn({ msg: 'projection read retried', attempt, ...describeError(error) }),
        });
        this.subscription = subscription;
        if (this.stopped) await subscription.stop();
        await subscription.done;
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof RestartReading) continue;
        failures += 1;
        const delay = Math.min(
          this.options.maxRestartDelayMs ?? 30_000,
          (this.options.restartDelayMs ?? 500) * 2 ** (failures - 1),
        );
        this.log.error({
          msg: 'projections stopped reading; resuming from their checkpoints',
          retryInMs: delay,
          ...describeError(error),
        });
        await this.pause.sleep(delay);
      }
    }
  }

  private async onEvent(event: OpenedEvent): Promise<void> {
    this.buffer.push(event);
    if (this.buffer.length >= this.batchMax) await this.flush();
  }

  private async onCaughtUp(position: GlobalPosition): Promise<void> {
    if (this.buffer.length > 0) await this.flush();
    // Everything committed so far was read: every running projection holds the log up to here.
    for (const slot of this.active()) {
      advance(slot, position);
      slot.caughtUp = true;
      this.options.metrics?.lag(slot.projection.name, 0);
    }
    this.notify();
    if (this.restartRequested || this.retryDueProjections()) throw new RestartReading();
  }

  /**
   * Applies the buffered events to every running projection in one transaction. A projection that
   * throws on an event is stopped, and the batch applied again with that projection taking only
   * the events before the one it failed on: its checkpoint stops right in front of it.
   */
  private async flush(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    const last = batch[batch.length - 1]!;
    /** Projections stopped during this batch: they take only the events before these positions. */
    const stoppedAt = new Map<Slot, GlobalPosition>();
    /** Projections whose `applyBatch` threw on this batch: they take it one event at a time. */
    const oneByOne = new Set<Slot>();
    for (;;) {
      const slots = [...this.active(), ...stoppedAt.keys()];
      if (slots.length === 0) return;
      let outcome: Map<Slot, { count: number; to: GlobalPosition | undefined }>;
      try {
        outcome = await this.client.transaction(async (tx) => {
          const committed = await loadCheckpoints(
            tx,
            slots.map((s) => s.projection.name),
            { lock: true },
          );
          const applied = new Map<Slot, { count: number; to: GlobalPosition | undefined }>();
          for (const slot of slots) {
            const done = committed.get(slot.projection.name);
            const before = stoppedAt.get(slot);
            const pending: OpenedEvent[] = [];
            let to: GlobalPosition | undefined = before ? undefined : last.position;
            for (const event of batch) {
              if (before && comparePositions(event.position, before) >= 0) break;
              if (before) to = event.position;
              if (!projects(slot.projection, event)) continue;
              if (done && comparePositions(event.position, done) <= 0) continue;
              pending.push(event);
            }
            await applyTo(tx, slot, pending, !oneByOne.has(slot));
            applied.set(slot, { count: pending.length, to });
          }
          await saveCheckpoints(
            tx,
            [...applied].flatMap(([slot, { to }]) => (to ? [[slot.projection.name, to]] : [])),
          );
          return applied;
        });
      } catch (error) {
        if (error instanceof BatchFailed) {
          if (isOutage(error.cause)) throw error.cause;
          oneByOne.add(error.slot);
          continue; // the batch again, that projection one event at a time to find the event
        }
        if (!(error instanceof ApplyFailed)) throw error;
        // The database went away under the projection: everything waits and resumes.
        if (isOutage(error.cause)) throw error.cause;
        stoppedAt.set(error.slot, error.event.position);
        await this.stopProjection(error.slot, error.event, error.cause);
        continue; // the batch again, that projection only up to the event it failed on
      }
      const lagSeconds = Math.max(0, (this.now() - last.recordedAt.getTime()) / 1000);
      this.options.metrics?.committed();
      for (const [slot, { count, to }] of outcome) {
        slot.applied += count;
        if (count > 0 && !stoppedAt.has(slot)) slot.failures = 0;
        if (to && (!slot.checkpoint || comparePositions(to, slot.checkpoint) > 0)) {
          slot.checkpoint = to;
        }
        if (to) advance(slot, to);
        this.options.metrics?.applied(slot.projection.name, count);
        if (!stoppedAt.has(slot)) this.options.metrics?.lag(slot.projection.name, lagSeconds);
      }
      this.notify();
      return;
    }
  }

  private async stopProjection(slot: Slot, event: OpenedEvent, error: unknown): Promise<void> {
    slot.failures += 1;
    const failures = slot.failures;
    const delay = Math.min(
      this.options.maxRestartDelayMs ?? 30_000,
      (this.options.restartDelayMs ?? 500) * 2 ** (failures - 1),
    );
    const code = error instanceof LedgerlineError ? error.code : 'projection_error';
    slot.failed = { code, position: event.position, retryAt: this.now() + delay };
    this.log.error({
      alert: true,
      msg: 'projection stopped on an event it could not apply; the others go on',
      projection: slot.projection.name,
      position: encodePosition(event.position),
      eventId: event.eventId,
      eventType: event.type,
      retryInMs: delay,
      ...describeError(error),
    });
    await recordFailure(this.client, slot.projection.name, code, event.position).catch(
      (e: unknown) =>
        this.log.warn({ msg: 'projection failure not recorded', ...describeError(e) }),
    );
  }

  /** Projections whose retry time has come run again; true when there was one. */
  private retryDueProjections(): boolean {
    let any = false;
    for (const slot of this.slots.values()) {
      if (slot.failed && slot.failed.retryAt <= this.now()) {
        // Its failure count stays until it applies a batch, so failing again waits longer.
        slot.failed = undefined;
        any = true;
      }
    }
    return any;
  }

  private nextRetryInMs(): number {
    const times = [...this.slots.values()].flatMap((s) => (s.failed ? [s.failed.retryAt] : []));
    return times.length === 0 ? 1_000 : Math.max(10, Math.min(...times) - this.now());
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }
}

function advance(slot: Slot, position: GlobalPosition): void {
  if (!slot.progress || comparePositions(position, slot.progress) > 0) slot.progress = position;
}

/** The lowest of the checkpoints; undefined (the start of the log) when any has none. */
function lowest(checkpoints: readonly (GlobalPosition | undefined)[]): GlobalPosition | undefined {
  let min: GlobalPosition | undefined;
  for (const c of checkpoints) {
    if (!c) return undefined;
    if (!min || comparePositions(c, min) < 0) min = c;
  }
  return min;
}

/** The database (not the projection) failed: everything waits and resumes. */
function isOutage(error: unknown): boolean {
  return error instanceof LedgerlineError && error.retryable;
}
