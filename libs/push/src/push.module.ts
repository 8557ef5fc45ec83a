import { readFileSync } from 'node:fs';
import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import {
  ACCESS_POLICY,
  ACCESS_RECORDER,
  type AccessPolicy,
  type AccessRecorder,
} from '@ledgerline/identity';
import { CLOCK, CONFIG, type Clock, type LedgerlineConfig } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import {
  COMMAND_RUNNER,
  PROJECTION_PROCESSOR,
  type CommandRunner,
  type ProjectionProcessor,
} from '@ledgerline/pipeline';
import { SqlPresenceConnections, presenceConfig } from '@ledgerline/presence';
import { ApnsPushProvider } from './adapters/apns-push-provider.adapter';
import { FcmPushProvider } from './adapters/fcm-push-provider.adapter';
import { LogPushProvider } from './adapters/log-push-provider.adapter';
import { PushCommands } from './application/push-commands.handler';
import type { OnlineCheck } from './application/push-dispatcher';
import { PushDispatcher } from './adapters/sql-push-outbox.adapter';
import { SqlPushSettingsReads } from './adapters/sql-push-settings-reads.adapter';
import type { PushProvider } from './application/push-provider.port';
import { PushQueries } from './application/push-queries';
import { loadPushTemplates } from './application/push-templates.loader';
import type { PushPlatform } from './domain/push.events';
import { pushProjection } from './projections/push.projection';
import { pushConfig, type PushSettings } from './push.config';

const PUSH_READ_MODELS = Symbol('PushReadModels');
const PUSH_PROVIDERS = Symbol('PushProviders');

type Providers = Readonly<Record<PushPlatform, PushProvider>>;

/** The providers the configuration names: Apple and Google, or the log for development. */
export function pushProvidersOf(config: PushSettings): Providers {
  const logger = new Logger('Push');
  const log = new LogPushProvider({ log: (fields) => logger.log(fields) });
  const ca = (file: string | undefined) => (file ? [readFileSync(file, 'utf8')] : undefined);
  const apns =
    config.apns.provider === 'log'
      ? log
      : new ApnsPushProvider({
          key: readFileSync(config.apns.keyFile, 'utf8'),
          keyId: config.apns.keyId,
          teamId: config.apns.teamId,
          ...(config.apns.address ? { address: config.apns.address } : {}),
          ...(config.apns.caFile ? { ca: ca(config.apns.caFile) } : {}),
          timeoutMs: config.timeoutMs,
        });
  const fcm =
    config.fcm.provider === 'log'
      ? log
      : new FcmPushProvider({
          serviceAccountFile: config.fcm.serviceAccountFile,
          ...(config.fcm.address ? { address: config.fcm.address } : {}),
          ...(config.fcm.caFile ? { ca: ca(config.fcm.caFile) } : {}),
          timeoutMs: config.timeoutMs,
        });
  return { apns, fcm };
}

class PushLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(PushDispatcher) private readonly dispatcher: PushDispatcher,
    @Inject(PUSH_PROVIDERS) private readonly providers: Providers,
    @Inject(CONFIG) private readonly config: LedgerlineConfig,
  ) {}

  onApplicationBootstrap(): void {
    const push = this.config.slice(pushConfig);
    if (
      this.config.env === 'production' &&
      (push.apns.provider === 'log' || push.fcm.provider === 'log')
    ) {
      // Not an error (a deployment may serve one platform only), but no phone rings through the log.
      new Logger('Push').warn({
        msg: 'a push provider is the log: set LEDGERLINE_PUSH_APNS_PROVIDER / LEDGERLINE_PUSH_FCM_PROVIDER',
        apns: push.apns.provider,
        fcm: push.fcm.provider,
      });
    }
    if (push.enabled) this.dispatcher.start();
  }

  // Before the ledger and the database close.
  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher.stop();
    await Promise.all([...new Set(Object.values(this.providers))].map((p) => p.close()));
  }
}

/**
 * Push: devices and preferences (`PushCommands`, `PushQueries`), the push projection on the one
 * PROJECTION_PROCESSOR, and the outbox dispatcher with the configured providers. Needs CONFIG,
 * CLOCK, SQL_CLIENT, LEDGER, ACCESS_POLICY, ACCESS_RECORDER and PipelineModule.
 */
@Module({})
export class PushModule {
  static forRoot(): DynamicModule {
    return {
      module: PushModule,
      providers: [
        {
          provide: PUSH_READ_MODELS,
          inject: [SQL_CLIENT, PROJECTION_PROCESSOR],
          useFactory: (client: SqlClient, processor: ProjectionProcessor) => {
            processor.register(pushProjection());
            return true;
          },
        },
        {
          provide: PushCommands,
          inject: [COMMAND_RUNNER, LEDGER, CLOCK],
          useFactory: (runner: CommandRunner, ledger: Ledger, clock: Clock) =>
            new PushCommands(runner, ledger, { clock }),
        },
        {
          provide: PushQueries,
          inject: [ACCESS_POLICY, SQL_CLIENT, CLOCK, PUSH_READ_MODELS],
          useFactory: (access: AccessPolicy, client: SqlClient, clock: Clock) =>
            new PushQueries(access, new SqlPushSettingsReads(client), clock),
        },
        {
          provide: PUSH_PROVIDERS,
          inject: [CONFIG],
          useFactory: (config: LedgerlineConfig) => pushProvidersOf(config.slice(pushConfig)),
        },
        {
          provide: PushDispatcher,
          inject: [
            SQL_CLIENT,
            LEDGER,
            PUSH_PROVIDERS,
            ACCESS_RECORDER,
            PushCommands,
            CONFIG,
            CLOCK,
            PUSH_READ_MODELS,
          ],
          useFactory: (
            client: SqlClient,
            ledger: Ledger,
            providers: Providers,
            audit: AccessRecorder,
            commands: PushCommands,
            config: LedgerlineConfig,
            clock: Clock,
          ) => {
            const logger = new Logger('PushDispatcher');
            const connections = SqlPresenceConnections.create(client);
            const online: OnlineCheck = {
              isOnline: async (tenantId, userId) => {
                const liveAfter = new Date(
                  clock.now().getTime() - config.slice(presenceConfig).connectionLeaseMs,
                );
                return (await connections.observe(tenantId, userId, liveAfter)).liveConnections > 0;
              },
            };
            return new PushDispatcher(client, ledger, providers, online, audit, commands, {
              clock,
              templates: loadPushTemplates(config.slice(pushConfig).templatesFile),
              retry: {
                baseMs: 1_000,
                maxMs: 600_000,
                maxAttempts: config.slice(pushConfig).maxAttempts,
              },
              batchSize: config.slice(pushConfig).batchSize,
              // A round's sends each end within the timeout; past this its process is taken for dead.
              leaseMs: config.slice(pushConfig).timeoutMs * 3 + 5_000,
              pollIntervalMs: config.slice(pushConfig).pollIntervalMs,
              log: { warn: (f) => logger.warn(f) },
            });
          },
        },
        PushLifecycle,
      ],
      exports: [PushCommands, PushQueries, PushDispatcher],
    };
  }
}
