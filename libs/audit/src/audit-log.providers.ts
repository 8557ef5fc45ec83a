import {
  Inject,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type Provider,
} from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import {
  CHECKPOINT_STORE,
  EVENT_STORE,
  type CheckpointStore,
  type EventStore,
} from '@ledgerline/event-store';
import {
  ACCESS_POLICY,
  ACCESS_RECORDER,
  type AccessPolicy,
  type AccessRecorder,
} from '@ledgerline/identity';
import { LedgerlineError } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  AUDIT_LOG_DEFAULT_PAGE_SIZE,
  AUDIT_LOG_MAX_PAGE_SIZE,
  AUDIT_LOG_UP_TO_DATE_TIMEOUT_MS,
} from './api/audit-api.config';
import { AuditorQueries } from './auditor/auditor-queries.handler';
import { AuditLogProjection } from './projection/audit-log.projection';

/** Ids and codes only: events and errors' causes are never logged. */
function describe(error: unknown): Record<string, unknown> {
  return error instanceof LedgerlineError
    ? { code: error.code, message: error.message }
    : { error: error instanceof Error ? error.name : typeof error };
}

class AuditLogLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(AuditLogProjection) private readonly projection: AuditLogProjection) {}

  onApplicationBootstrap(): void {
    this.projection.start();
  }

  // Before the database and the event store close.
  async beforeApplicationShutdown(): Promise<void> {
    await this.projection.stop();
  }
}

/**
 * The audit log (projection, run in this process) and the auditor's queries, as AuditModule
 * provides them. Needs SQL_CLIENT, LEDGER, EVENT_STORE, CHECKPOINT_STORE and ACCESS_POLICY from the
 * app, and the ACCESS_RECORDER AuditModule provides.
 */
export const auditLogProviders: Provider[] = [
  {
    provide: AuditLogProjection,
    inject: [SQL_CLIENT, LEDGER, CHECKPOINT_STORE],
    useFactory: (client: SqlClient, ledger: Ledger, checkpoints: CheckpointStore) => {
      const logger = new Logger('AuditLogProjection');
      return AuditLogProjection.create(client, ledger, checkpoints, {
        onError: (error) =>
          logger.error({ ...describe(error), msg: 'audit log projection stopped; restarting' }),
        onRetry: (error, attempt) =>
          logger.warn({ attempt, ...describe(error), msg: 'audit log projection read retried' }),
        onSkipped: (event) =>
          logger.warn({ ...event, msg: 'access event not in the audit log (unreadable)' }),
      });
    },
  },
  {
    provide: AuditorQueries,
    inject: [ACCESS_POLICY, ACCESS_RECORDER, SQL_CLIENT, AuditLogProjection, EVENT_STORE],
    useFactory: (
      access: AccessPolicy,
      recorder: AccessRecorder,
      client: SqlClient,
      projection: AuditLogProjection,
      store: EventStore,
    ) =>
      new AuditorQueries(access, recorder, client, {
        maxPageSize: AUDIT_LOG_MAX_PAGE_SIZE,
        defaultPageSize: AUDIT_LOG_DEFAULT_PAGE_SIZE,
        upToDate: async () =>
          projection.waitFor(await store.headPosition(), {
            timeoutMs: AUDIT_LOG_UP_TO_DATE_TIMEOUT_MS,
          }),
      }),
  },
  AuditLogLifecycle,
];

/** What AuditModule exports of the audit log. */
export const auditLogExports = [AuditLogProjection, AuditorQueries];
