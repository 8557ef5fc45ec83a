import { Logger, Module, type DynamicModule } from '@nestjs/common';
import {
  DATA_KEYS,
  KEY_INVALIDATIONS,
  type DataKeys,
  type KeyInvalidations,
} from '@ledgerline/crypto';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import {
  ACCESS_POLICY,
  ACCESS_RECORDER,
  type AccessPolicy,
  type AccessRecorder,
} from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  describeError,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  COMMAND_RUNNER,
  PROJECTION_PROCESSOR,
  type CommandRunner,
  type ProjectionProcessor,
} from '@ledgerline/pipeline';
import { ConversationCommands } from './application/conversation-commands.handler';
import { SqlConversationSnapshots } from './adapters/sql-conversation-snapshots.adapter';
import { ConversationStates } from './application/conversation-states';
import { EmergencyAccess } from './application/emergency/emergency-access.handler';
import { AttachmentChecks } from './application/attachment-checks';
import { ConversationQueries } from './application/queries/conversation-queries.handler';
import { PointInTimeReplay } from './application/queries/conversation-replay.handler';
import { SqlReplayHints } from './adapters/sql-replay-hints.adapter';
import { sqlConversationReadModels } from './adapters/sql-conversation-read-models.adapter';
import { SqlConversationMemberships } from './adapters/sql-conversation-memberships.adapter';
import { SqlEmergencyGrants } from './adapters/sql-emergency-grants.adapter';
import type { ConversationMemberships } from './application/queries/conversation-memberships.port';
import { CONVERSATION_MEMBERSHIPS } from './conversations.tokens';
import type { ConversationLimits } from './domain/conversation.commands';
import { ConversationProjections } from './projections/conversation-projections';
import { READ_YOUR_WRITES_TIMEOUT_MS } from './api/conversation-api.config';

export interface ConversationsModuleOptions {
  /** Snapshot a conversation's state every this many events (default 100). */
  readonly snapshotEvery?: number;
  /** Conversations whose state is kept in memory (default 10 000). */
  readonly cachedConversations?: number;
  readonly limits?: ConversationLimits;
  /** Largest page a query may ask for (default 100). */
  readonly maxPageSize?: number;
}

/** The conversations' state loader, shared with domains whose events live in their streams (libs/files). */
export const CONVERSATION_STATES = Symbol('ConversationStates');
/** libs/files: where the check of a send's attachments is registered. */
export const ATTACHMENT_CHECKS = Symbol('AttachmentChecks');
const CONVERSATION_SNAPSHOTS = Symbol('ConversationSnapshots');
const CONVERSATIONS_OPTIONS = Symbol('ConversationsModuleOptions');

/**
 * Conversations: the command handler (`ConversationCommands`), the queries
 * (`ConversationQueries`), the read-model projections (`ConversationProjections`) and
 * point-in-time replay (`PointInTimeReplay`, which the app binds to libs/audit's
 * `ConversationReplaySource` for the auditor's history), on the event pipeline (COMMAND_RUNNER, and the
 * PROJECTION_PROCESSOR its read models register with). Needs, from the app: CONFIG, CLOCK,
 * ID_GENERATOR, SQL_CLIENT, EVENT_STORE, LEDGER, DATA_KEYS, ACCESS_POLICY, ACCESS_RECORDER and
 * PipelineModule.
 */
@Module({})
export class ConversationsModule {
  static forRoot(options: ConversationsModuleOptions = {}): DynamicModule {
    return {
      module: ConversationsModule,
      providers: [
        { provide: CONVERSATIONS_OPTIONS, useValue: options },
        {
          provide: CONVERSATION_SNAPSHOTS,
          inject: [SQL_CLIENT, DATA_KEYS, CLOCK],
          useFactory: (client: SqlClient, dataKeys: DataKeys, clock: Clock) => {
            const logger = new Logger('ConversationSnapshots');
            return SqlConversationSnapshots.create(client, dataKeys, {
              clock,
              onProblem: (streamId, problem) =>
                logger.warn({ streamId, problem, msg: 'snapshot passed over' }),
            });
          },
        },
        {
          provide: CONVERSATION_STATES,
          inject: [
            LEDGER,
            CONVERSATION_SNAPSHOTS,
            CONFIG,
            { token: KEY_INVALIDATIONS, optional: true },
          ],
          useFactory: (
            ledger: Ledger,
            snapshots: SqlConversationSnapshots,
            config: LedgerlineConfig,
            invalidations: KeyInvalidations | undefined,
          ) => {
            const states = new ConversationStates(ledger, snapshots, {
              maxStreams: options.cachedConversations,
              // A shred whose notification was missed shows here no later than in the key cache.
              maxAgeMs: config.keys.cache.maxAgeMs,
            });
            // A shredded stream's decided state goes with its keys (ADR 0018).
            invalidations?.subscribe((i) => {
              if (i.kind === 'keys') states.forget(i.streamId);
              else if (i.kind === 'all') states.clear();
            });
            return states;
          },
        },
        {
          provide: CONVERSATION_MEMBERSHIPS,
          inject: [SQL_CLIENT],
          useFactory: (client: SqlClient) => new SqlConversationMemberships(client),
        },
        // libs/files
        { provide: ATTACHMENT_CHECKS, useValue: new AttachmentChecks() },
        {
          provide: ConversationCommands,
          inject: [
            COMMAND_RUNNER,
            CONVERSATION_STATES,
            CONVERSATION_SNAPSHOTS,
            CLOCK,
            ID_GENERATOR,
            ATTACHMENT_CHECKS,
          ],
          useFactory: (
            runner: CommandRunner,
            states: ConversationStates,
            snapshots: SqlConversationSnapshots,
            clock: Clock,
            ids: IdGenerator,
            attachments: AttachmentChecks,
          ) => {
            const logger = new Logger('ConversationCommands');
            return new ConversationCommands(runner, states, snapshots, {
              clock,
              ids,
              attachments,
              limits: options.limits,
              snapshotEvery: options.snapshotEvery,
              onSnapshotError: (streamId, error) =>
                logger.warn({ streamId, ...describeError(error), msg: 'snapshot not written' }),
            });
          },
        },
        {
          provide: ConversationProjections,
          inject: [PROJECTION_PROCESSOR],
          useFactory: (processor: ProjectionProcessor) =>
            ConversationProjections.register(processor),
        },
        {
          provide: EmergencyAccess,
          inject: [
            SQL_CLIENT,
            CONVERSATION_MEMBERSHIPS,
            LEDGER,
            ACCESS_POLICY,
            ACCESS_RECORDER,
            CLOCK,
            ID_GENERATOR,
          ],
          useFactory: (
            client: SqlClient,
            memberships: ConversationMemberships,
            ledger: Ledger,
            access: AccessPolicy,
            accessLog: AccessRecorder,
            clock: Clock,
            ids: IdGenerator,
          ) => {
            const logger = new Logger('EmergencyAccess');
            return EmergencyAccess.create(
              new SqlEmergencyGrants(client),
              memberships,
              ledger,
              access,
              accessLog,
              {
                clock,
                ids,
                // Ids and codes only; alerting rules route `audience: tenant_auditors` to them.
                alerts: {
                  raise: (alert) =>
                    logger.warn({
                      alert: true,
                      audience: 'tenant_auditors',
                      msg: `break-glass access ${alert.kind}`,
                      ...alert,
                    }),
                },
              },
            );
          },
        },
        {
          provide: ConversationQueries,
          // Queries wait on the projections (their read models) to be registered first.
          inject: [
            ACCESS_POLICY,
            ACCESS_RECORDER,
            SQL_CLIENT,
            LEDGER,
            EmergencyAccess,
            ConversationProjections,
            EVENT_STORE,
          ],
          useFactory: (
            access: AccessPolicy,
            accessLog: AccessRecorder,
            client: SqlClient,
            ledger: Ledger,
            emergency: EmergencyAccess,
            projections: ConversationProjections,
            store: EventStore,
          ) =>
            new ConversationQueries(access, accessLog, sqlConversationReadModels(client), ledger, {
              maxPageSize: options.maxPageSize,
              emergency,
              caughtUp: async () =>
                projections.waitFor(await store.headPosition(), {
                  timeoutMs: READ_YOUR_WRITES_TIMEOUT_MS,
                }),
            }),
        },
        {
          provide: PointInTimeReplay,
          // Hints come from the read models, created (migrated) with the projections.
          inject: [ACCESS_RECORDER, LEDGER, EVENT_STORE, SQL_CLIENT, ConversationProjections],
          useFactory: (
            accessLog: AccessRecorder,
            ledger: Ledger,
            store: EventStore,
            client: SqlClient,
          ) => new PointInTimeReplay(accessLog, ledger, store, SqlReplayHints.over(client)),
        },
      ],
      exports: [
        CONVERSATION_MEMBERSHIPS,
        EmergencyAccess,
        CONVERSATION_STATES,
        ATTACHMENT_CHECKS,
        ConversationCommands,
        ConversationQueries,
        ConversationProjections,
        PointInTimeReplay,
      ],
    };
  }
}
