import { migrate, type SqlClient, type SqlExecutor } from '@ledgerline/database';
import type { CheckpointStore, Subscription } from '@ledgerline/event-store';
import { Pause, UnavailableError, comparePositions, type GlobalPosition } from '@ledgerline/kernel';
import { startDurableLedgerSubscription, type Ledger, type OpenedEvent } from '@ledgerline/ledger';
import { AUDIT_STREAM_PREFIX } from '../audit-stream';
import { auditLogEntryOf, type AuditLogRow, type SkipReason } from './audit-log-row';
import { auditLogMigrations } from './audit-log.migrations';

/** The projection's name: its bookkeeping row and its checkpoints (`audit.audit-log.g<n>`). */
export const AUDIT_LOG_PROJECTION = 'audit-log';

export const auditLogCheckpointName = (generation: number): string =>
  `audit.${AUDIT_LOG_PROJECTION}.g${generation}`;

export interface AuditLogProjectionOptions {
  /** Save the checkpoint after this many events (and whenever caught up). */
  readonly checkpointEvery?: number;
  /** First wait before restarting after a failure; doubles up to `maxRestartDelayMs`. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  /** The projection stopped on an error and will restart (ids and codes only: never log events). */
  readonly onError?: (error: unknown) => void;
  /** A transient read failure the subscription retries on its own. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
  /** An event of an audit stream that gives no row (shredded, of a type this build does not know). */
  readonly onSkipped?: (event: { eventId: string; type: string; reason: SkipReason }) => void;
}

export interface ReplayOutcome {
  /** The new generation, whose checkpoint the live projection follows from now on. */
  readonly generation: number;
  /** Access events read on the way to the end of the log. */
  readonly eventsRead: number;
  /** Rows that were missing and are now in the log (0 when it was complete). */
  readonly rowsAdded: number;
}

interface Run {
  stopped: boolean;
  subscription: Subscription | undefined;
  /** Settles at this run's first catch-up (or rejects at its first failure). */
  readonly caughtUp: Promise<void>;
  resolveCaughtUp(): void;
  rejectCaughtUp(error: unknown): void;
  readonly pause: Pause;
  loop: Promise<void>;
  eventsRead: number;
  rowsAdded: number;
}

/**
 * Projects every tenant's audit stream (`audit:<tenant>`) into the append-only audit log
 * (`ll_audit_log`, `ll_audit_log_subjects`), on a durable ledger subscription with its own
 * checkpoint.
 *
 * - At-least-once safe: each event is inserted with `on conflict do nothing` (event id or
 *   position), together with its subject rows in one transaction, so a redelivered event (or one
 *   another node projected first) changes nothing.
 * - Rows arrive in `$all` order, so a reader paging forwards by position never has a row appear
 *   behind its cursor (a replay that fills a hole is the exception, see `replay`).
 * - A failure (database down, an access event this build cannot read) stops it; it restarts from
 *   its checkpoint after a backoff, and reports the error through `onError`. An event it cannot
 *   read is never skipped: the log would have a hole nobody sees.
 * - The log is append-only in the database, so there is no rebuild that empties it (`ledgerline
 *   projections rebuild` does not touch it). `replay` reads the whole log again under a new
 *   checkpoint generation and inserts only what is missing.
 */
export class AuditLogProjection {
  private run: Run | undefined;
  private progress: GlobalPosition | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly client: SqlClient,
    private readonly ledger: Pick<Ledger, 'subscribe'>,
    private readonly checkpoints: CheckpointStore,
    private readonly options: AuditLogProjectionOptions,
  ) {}

  /** Creates (migrates) the audit log tables; does not start projecting. */
  static async create(
    client: SqlClient,
    ledger: Pick<Ledger, 'subscribe'>,
    checkpoints: CheckpointStore,
    options: AuditLogProjectionOptions = {},
  ): Promise<AuditLogProjection> {
    await migrate(client, 'audit-log', auditLogMigrations);
    return new AuditLogProjection(client, ledger, checkpoints, options);
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  /** Starts projecting from the checkpoint (no-op when running). */
  start(): void {
    if (!this.run) this.run = this.launch();
  }

  /** Stops, letting the event in hand finish and saving the checkpoint. */
  async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.stopped = true;
    run.pause.interrupt();
    await run.subscription?.stop().catch(() => undefined);
    await run.loop;
    run.rejectCaughtUp(new UnavailableError('the audit log projection was stopped'));
    if (this.run === run) this.run = undefined;
  }

  /**
   * Reads the whole log again from its first event under a new checkpoint generation, inserting
   * the access events the audit log is missing (rows it has are left as they are: it is
   * append-only). Resolves once the replay has caught up with the log. Running afterwards if it
   * was running before. Another process still on the old generation keeps inserting harmlessly
   * (the same rows, idempotently) until it restarts.
   */
  async replay(): Promise<ReplayOutcome> {
    const wasRunning = this.run !== undefined;
    await this.stop();
    const [row] = await this.client.query<{ generation: number }>(
      `insert into ll_audit_log_projection (name, generation, replayed_at) values ($1, 1, now())
       on conflict (name) do update
         set generation = ll_audit_log_projection.generation + 1, replayed_at = now()
       returning generation`,
      [AUDIT_LOG_PROJECTION],
    );
    const run = this.launch();
    this.run = run;
    try {
      await run.caughtUp;
    } finally {
      if (!wasRunning) await this.stop();
    }
    return {
      generation: Number(row!.generation),
      eventsRead: run.eventsRead,
      rowsAdded: run.rowsAdded,
    };
  }

  /**
   * Resolves once the projection has handled the log up to `position` (for read-your-writes and
   * tests); UnavailableError (retryable) when it does not within `timeoutMs`.
   */
  waitFor(position: GlobalPosition, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.progress || comparePositions(this.progress, position) < 0) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new UnavailableError('the audit log did not reach the position in time'));
      }, options.timeoutMs ?? 10_000);
      this.waiters.add(check);
      check();
    });
  }

  private launch(): Run {
    let resolveCaughtUp!: () => void;
    let rejectCaughtUp!: (error: unknown) => void;
    const caughtUp = new Promise<void>((resolve, reject) => {
      resolveCaughtUp = resolve;
      rejectCaughtUp = reject;
    });
    // Only a replay awaits it; a failure is reported through onError as well.
    caughtUp.catch(() => undefined);
    const run: Run = {
      stopped: false,
      subscription: undefined,
      caughtUp,
      resolveCaughtUp,
      rejectCaughtUp,
      pause: new Pause(),
      loop: Promise.resolve(),
      eventsRead: 0,
      rowsAdded: 0,
    };
    run.loop = this.loop(run);
    return run;
  }

  private async loop(run: Run): Promise<void> {
    let failures = 0;
    while (!run.stopped) {
      try {
        const generation = await this.generation();
        const subscription = await startDurableLedgerSubscription(this.ledger, this.checkpoints, {
          name: auditLogCheckpointName(generation),
          filter: { streamPrefixes: [AUDIT_STREAM_PREFIX] },
          checkpointEvery: this.options.checkpointEvery,
          onRetry: (error, attempt) => this.options.onRetry?.(error, attempt),
          onEvent: async (opened) => {
            await this.handle(run, opened);
            failures = 0;
            this.advance(opened.position);
          },
          onCaughtUp: (position) => {
            this.advance(position);
            run.resolveCaughtUp();
          },
        });
        run.subscription = subscription;
        if (run.stopped) {
          await subscription.stop();
          return;
        }
        await subscription.done;
      } catch (error) {
        if (run.stopped) return;
        failures += 1;
        run.rejectCaughtUp(error);
        this.options.onError?.(error);
        const base = this.options.restartDelayMs ?? 500;
        await run.pause.sleep(
          Math.min(this.options.maxRestartDelayMs ?? 30_000, base * 2 ** (failures - 1)),
        );
      }
    }
  }

  private async handle(run: Run, opened: OpenedEvent): Promise<void> {
    const entry = auditLogEntryOf(opened);
    if (entry.kind === 'skip') {
      if (entry.reason !== 'not_an_audit_stream') {
        this.options.onSkipped?.({
          eventId: opened.eventId,
          type: opened.type,
          reason: entry.reason,
        });
      }
      return;
    }
    run.eventsRead += 1;
    const added = await this.client.transaction((tx) => insertRow(tx, entry.row));
    if (added) run.rowsAdded += 1;
  }

  private async generation(): Promise<number> {
    const [row] = await this.client.query<{ generation: number }>(
      `insert into ll_audit_log_projection (name) values ($1)
       on conflict (name) do update set name = excluded.name
       returning generation`,
      [AUDIT_LOG_PROJECTION],
    );
    return Number(row!.generation);
  }

  private advance(position: GlobalPosition): void {
    if (this.progress && comparePositions(position, this.progress) <= 0) return;
    this.progress = position;
    for (const check of [...this.waiters]) check();
  }
}

/** Inserts a row and its subjects unless the log has the event; true when it was added now. */
async function insertRow(tx: SqlExecutor, row: AuditLogRow): Promise<boolean> {
  const inserted = await tx.query(
    `insert into ll_audit_log (event_id, tenant_id, commit_position, prepare_position,
       stream_revision, at, recorded_at, actor_id, actor_kind, actor_roles, actor_credential_id,
       action, outcome, reason, permission, conversation_id, resource_type, target_ids,
       subject_user_ids, origin_node, origin_transport, origin_client_address, origin_user_agent,
       origin_device_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14, $15, $16, $17,
       $18::text[], $19::text[], $20, $21, $22, $23, $24)
     -- No conflict target: a node racing another to project the same event can meet either unique
     -- index (event id or position) first, and both mean "already projected".
     on conflict do nothing
     returning event_id`,
    [
      row.eventId,
      row.tenantId,
      row.position.commit.toString(),
      row.position.prepare.toString(),
      row.streamRevision.toString(),
      row.at,
      row.recordedAt,
      row.actor.id,
      row.actor.kind,
      [...row.actor.roles],
      row.actor.credentialId ?? null,
      row.action,
      row.outcome,
      row.reason ?? null,
      row.permission ?? null,
      row.conversationId ?? null,
      row.resourceType ?? null,
      [...row.targetIds],
      [...row.subjectUserIds],
      row.origin?.node ?? null,
      row.origin?.transport ?? null,
      row.origin?.clientAddress ?? null,
      row.origin?.userAgent ?? null,
      row.origin?.deviceId ?? null,
    ],
    { name: 'll_audit_log_insert' },
  );
  if (inserted.length === 0) return false;
  const subjects = [...new Set(row.subjectUserIds)];
  if (subjects.length > 0) {
    await tx.query(
      `insert into ll_audit_log_subjects
         (tenant_id, subject_user_id, at, commit_position, prepare_position, event_id)
       select $1, s, $3, $4, $5, $6 from unnest($2::text[]) as s
       on conflict do nothing`,
      [
        row.tenantId,
        subjects,
        row.at,
        row.position.commit.toString(),
        row.position.prepare.toString(),
        row.eventId,
      ],
    );
  }
  return true;
}
