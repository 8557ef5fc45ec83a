import { type SqlClient, type SqlExecutor } from '@ledgerline/database';
import type { GlobalPosition } from '@ledgerline/kernel';
import type { Ledger } from '@ledgerline/ledger';
import { ProjectionProcessor, type ProjectionProcessorOptions } from '@ledgerline/pipeline';
import { AUDIT_STREAM_PREFIX } from '../audit-stream';
import { auditLogEntryOf, type AuditLogRow, type SkipReason } from './audit-log-row';

/** The projection's name: its checkpoint row in the projection processor (`ll_projections`). */
export const AUDIT_LOG_PROJECTION = 'audit-log';

export interface AuditLogProjectionOptions extends ProjectionProcessorOptions {
  /** An event of an audit stream that gives no row (shredded, of a type this build does not know). */
  readonly onSkipped?: (event: { eventId: string; type: string; reason: SkipReason }) => void;
}

export interface ReplayOutcome {
  /** The projection's generation after the replay (counts replays and rebuilds). */
  readonly generation: number;
  /** Access events read on the way to the end of the log. */
  readonly eventsRead: number;
  /** Rows that were missing and are now in the log (0 when it was complete). */
  readonly rowsAdded: number;
}

/**
 * Projects every tenant's audit stream (`audit:<tenant>`) into the append-only audit log
 * (`ll_audit_log`, `ll_audit_log_subjects`), as one projection of the process's one projection
 * processor (applied in the processor's shared batches, its checkpoint committed with its rows).
 *
 * - Rows arrive in `$all` order, so a reader paging forwards by position never has a row appear
 *   behind its cursor (a replay that fills a hole is the exception, see `replay`).
 * - Inserts are `on conflict do nothing` (event id or position), so a replay over the rows it has
 *   changes nothing.
 * - An access event this build cannot read stops the projection (fail closed: the log would have
 *   a hole nobody sees), with an alert naming its position; the processor retries it later and the
 *   other read models go on.
 * - The log is append-only in the database, so it is never rebuilt; `replay` reads the whole log
 *   again and inserts only what is missing.
 */
export class AuditLogProjection {
  private eventsRead = 0;
  private rowsAdded = 0;

  private constructor(private readonly processor: ProjectionProcessor) {}

  /** Registers the projection with the app's processor (its tables are migrated at start). */
  static register(
    processor: ProjectionProcessor,
    options: Pick<AuditLogProjectionOptions, 'onSkipped'> = {},
  ): AuditLogProjection {
    const projection = new AuditLogProjection(processor);
    processor.register({
      name: AUDIT_LOG_PROJECTION,
      streamPrefixes: [AUDIT_STREAM_PREFIX],
      tables: [],
      apply: async (tx, opened) => {
        const entry = auditLogEntryOf(opened);
        if (entry.kind === 'skip') {
          if (entry.reason !== 'not_an_audit_stream') {
            options.onSkipped?.({
              eventId: opened.eventId,
              type: opened.type,
              reason: entry.reason,
            });
          }
          return;
        }
        projection.eventsRead += 1;
        if (await insertRow(tx, entry.row)) projection.rowsAdded += 1;
      },
    });
    return projection;
  }

  /** With a processor of its own (tools and tests that run nothing else); does not start it. */
  static create(
    client: SqlClient,
    ledger: Pick<Ledger, 'subscribe'>,
    options: AuditLogProjectionOptions = {},
  ): AuditLogProjection {
    return AuditLogProjection.register(
      ProjectionProcessor.create(client, ledger, options),
      options,
    );
  }

  get running(): boolean {
    return this.processor.running;
  }

  /** Starts the processor the projection runs on (no-op when it runs). */
  start(): void {
    this.processor.start();
  }

  async stop(): Promise<void> {
    await this.processor.stop();
  }

  /**
   * Reads the whole log again from its first event, inserting the access events the audit log is
   * missing (rows it has are left as they are: it is append-only). Resolves once caught up.
   */
  async replay(): Promise<ReplayOutcome> {
    const read = this.eventsRead;
    const added = this.rowsAdded;
    const { generation } = await this.processor.replay(AUDIT_LOG_PROJECTION);
    return { generation, eventsRead: this.eventsRead - read, rowsAdded: this.rowsAdded - added };
  }

  /**
   * Resolves once the projection has handled the log up to `position` (for read-your-writes and
   * tests); UnavailableError (retryable) when it does not within `timeoutMs`.
   */
  waitFor(position: GlobalPosition, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    return this.processor.waitFor(position, {
      timeoutMs: options.timeoutMs,
      names: [AUDIT_LOG_PROJECTION],
    });
  }
}

/** Inserts a row and its subjects unless the log has the event; true when it was added now. */
async function insertRow(tx: SqlExecutor, row: AuditLogRow): Promise<boolean> {
  const inserted = await tx.query(
    `insert into ll_audit_log (event_id, tenant_id, commit_position, prepare_position,
       stream_revision, at, recorded_at, actor_id, actor_kind, actor_roles, actor_credential_id,
       action, outcome, reason, permission, conversation_id, resource_type, target_ids,
       subject_user_ids, origin_node, origin_transport, origin_client_address, origin_user_agent,
       origin_device_id, operation)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14, $15, $16, $17,
       $18::text[], $19::text[], $20, $21, $22, $23, $24, $25)
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
      row.operation ?? null,
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
