import { Logger, type Provider } from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import {
  ACCESS_CATALOGUE,
  ACCESS_POLICY,
  ACCESS_RECORDER,
  type AccessCatalogue,
  type AccessPolicy,
  type AccessRecorder,
} from '@ledgerline/identity';
import { PROJECTION_PROCESSOR, type ProjectionProcessor } from '@ledgerline/pipeline';
import {
  AUDIT_LOG_DEFAULT_PAGE_SIZE,
  AUDIT_LOG_MAX_PAGE_SIZE,
  AUDIT_LOG_UP_TO_DATE_TIMEOUT_MS,
} from './api/audit-api.config';
import { AuditorQueries } from './auditor/auditor-queries.handler';
import { AuditLogProjection } from './projection/audit-log.projection';

/**
 * The audit log (projection, run in this process) and the auditor's queries, as AuditModule
 * provides them. Needs SQL_CLIENT, PROJECTION_PROCESSOR, EVENT_STORE and ACCESS_POLICY from the
 * app, and the ACCESS_RECORDER AuditModule provides.
 */
export const auditLogProviders: Provider[] = [
  {
    provide: AuditLogProjection,
    inject: [PROJECTION_PROCESSOR],
    useFactory: (processor: ProjectionProcessor) => {
      const logger = new Logger('AuditLogProjection');
      return AuditLogProjection.register(processor, {
        onSkipped: (event) =>
          logger.warn({ ...event, msg: 'access event not in the audit log (unreadable)' }),
      });
    },
  },
  {
    provide: AuditorQueries,
    inject: [
      ACCESS_POLICY,
      ACCESS_RECORDER,
      SQL_CLIENT,
      AuditLogProjection,
      EVENT_STORE,
      ACCESS_CATALOGUE,
    ],
    useFactory: (
      access: AccessPolicy,
      recorder: AccessRecorder,
      client: SqlClient,
      projection: AuditLogProjection,
      store: EventStore,
      catalogue: AccessCatalogue,
    ) =>
      new AuditorQueries(access, recorder, client, {
        knownActions: catalogue.accessActions,
        maxPageSize: AUDIT_LOG_MAX_PAGE_SIZE,
        defaultPageSize: AUDIT_LOG_DEFAULT_PAGE_SIZE,
        upToDate: async () =>
          projection.waitFor(await store.headPosition(), {
            timeoutMs: AUDIT_LOG_UP_TO_DATE_TIMEOUT_MS,
          }),
      }),
  },
];

/** What AuditModule exports of the audit log. */
export const auditLogExports = [AuditLogProjection, AuditorQueries];
