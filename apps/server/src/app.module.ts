import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule, AuditReplayModule } from '@ledgerline/audit';
import { CallsModule } from '@ledgerline/calls';
import {
  CONVERSATION_API_LIMITS,
  CONVERSATION_API_MAX_PAGE_SIZE,
  ConversationsModule,
  PointInTimeReplay,
  SqlConversationMemberships,
} from '@ledgerline/conversations';
import { CryptoModule } from '@ledgerline/crypto';
import { DatabaseModule } from '@ledgerline/database';
import { EventStoreModule } from '@ledgerline/event-store';
// libs/files
import { FilesModule } from '@ledgerline/files';
import { GraphqlEdgeModule } from '@ledgerline/graphql';
import { AccessCatalogue, IdentityModule, identityConfig } from '@ledgerline/identity';
import { schemaOf, type LedgerlineConfig } from '@ledgerline/kernel';
import { LedgerModule } from '@ledgerline/ledger';
import { PipelineModule } from '@ledgerline/pipeline';
import { PresenceModule } from '@ledgerline/presence';
import { PushModule } from '@ledgerline/push';
import { RealtimeModule } from '@ledgerline/realtime';
import { SfuModule } from '@ledgerline/sfu';
import { IceServerIssuer, TurnModule } from '@ledgerline/turn';
import { DevTokenController } from './dev-tokens/dev-token.controller';
import { graphqlResolvers } from './graphql-resolvers';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
import { LEDGERLINE_LIBS } from './lib-manifests';
import { loggerOptions } from './logging';
import { OperatorMetricsModule } from './metrics/operator-metrics.module';
import { KernelModule } from './kernel.module';
import { RealtimeBindingsModule } from './realtime-providers';

/**
 * Every role in one process: the embedded default behind `npm start`. Not global: what one lib's
 * module needs from another is imported explicitly (the conversations' module by files and the
 * realtime bindings, libs/turn's by calls); CONFIG, CLOCK and ID_GENERATOR are KernelModule's.
 */
@Module({})
export class AppModule {
  static forRoot(config: LedgerlineConfig): DynamicModule {
    // One instance each, imported here and by the modules that need them.
    // The limits the GraphQL inputs are validated against, so the edge and the decider agree.
    const conversations = ConversationsModule.forRoot({
      limits: CONVERSATION_API_LIMITS,
      maxPageSize: CONVERSATION_API_MAX_PAGE_SIZE,
    });
    const turn = TurnModule.forRoot({ relay: true, coturnStats: false });
    const realtimeBindings = RealtimeBindingsModule.forRoot(conversations);
    // libs/sfu: SFU_PORT for group calls (mediasoup when its worker is found, Janus when
    // configured, else none), handed to libs/calls explicitly.
    const sfu = SfuModule.forRoot();
    return {
      module: AppModule,
      imports: [
        KernelModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config)),
        DatabaseModule.forRoot({ schema: schemaOf(LEDGERLINE_LIBS), mode: 'migrate' }),
        EventStoreModule,
        CryptoModule,
        LedgerModule,
        PipelineModule.forRoot(),
        AuditModule,
        IdentityModule.forRoot(config.slice(identityConfig), new AccessCatalogue(LEDGERLINE_LIBS)),
        conversations,
        // The auditor's history (libs/audit) reads conversations through its own port, bound to
        // the conversations' point-in-time replay.
        AuditReplayModule.forRoot({
          conversations: { module: conversations, useExisting: PointInTimeReplay },
        }),
        // Presence learns who shares a conversation through its own port, over the conversations'
        // membership read model.
        PresenceModule.forRoot({ memberships: (client) => new SqlConversationMemberships(client) }),
        GraphqlEdgeModule.forRoot({
          autoSchemaFile: true,
          ...(config.http.allowedOrigins ? { allowedOrigins: config.http.allowedOrigins } : {}),
        }),
        realtimeBindings,
        RealtimeModule.forRoot({ imports: [realtimeBindings] }),
        OperatorMetricsModule,
        turn,
        // libs/files: its commands ride in the conversations' streams (their state loader comes
        // from the conversations' module, imported by it).
        FilesModule.forRoot({ conversations }),
        // libs/push
        PushModule.forRoot(),
        // libs/calls: membership from the conversations' read model, like presence; iceServers
        // from libs/turn; group calls through libs/sfu's SFU_PORT (when an engine runs).
        CallsModule.forRoot({
          memberships: (client) => new SqlConversationMemberships(client),
          iceServers: { module: turn, useExisting: IceServerIssuer },
          sfu,
        }),
        sfu,
      ],
      controllers: [
        HealthController,
        ...(config.slice(identityConfig).devTokens ? [DevTokenController] : []),
      ],
      providers: [Readiness, ...graphqlResolvers],
    };
  }
}
