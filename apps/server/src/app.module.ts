import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@ledgerline/audit';
import { CALL_ICE_SERVERS, CallsModule } from '@ledgerline/calls';
import {
  CONVERSATION_API_LIMITS,
  CONVERSATION_API_MAX_PAGE_SIZE,
  ConversationMemberships,
  ConversationsModule,
} from '@ledgerline/conversations';
import { CryptoModule } from '@ledgerline/crypto';
import { DatabaseModule } from '@ledgerline/database';
import { EventStoreModule } from '@ledgerline/event-store';
// libs/files
import { FilesModule } from '@ledgerline/files';
import { GraphqlEdgeModule } from '@ledgerline/graphql';
import { AccessCatalogue, IdentityModule, identityConfig } from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  kernelProviders,
  schemaOf,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
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
import { realtimeExports, realtimeProviders } from './realtime-providers';

/** Every role in one process: the embedded default behind `npm start`. */
@Module({})
export class AppModule {
  static forRoot(config: LedgerlineConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        LoggerModule.forRoot(loggerOptions(config)),
        DatabaseModule.forRoot({ schema: schemaOf(LEDGERLINE_LIBS), mode: 'migrate' }),
        EventStoreModule,
        CryptoModule,
        LedgerModule,
        PipelineModule.forRoot(),
        AuditModule,
        IdentityModule.forRoot(config.slice(identityConfig), new AccessCatalogue(LEDGERLINE_LIBS)),
        // The limits the GraphQL inputs are validated against, so the edge and the decider agree.
        ConversationsModule.forRoot({
          limits: CONVERSATION_API_LIMITS,
          maxPageSize: CONVERSATION_API_MAX_PAGE_SIZE,
        }),
        // Presence learns who shares a conversation through its own port, over the conversations'
        // membership read model.
        PresenceModule.forRoot({ memberships: (client) => new ConversationMemberships(client) }),
        GraphqlEdgeModule.forRoot({
          autoSchemaFile: true,
          ...(config.http.allowedOrigins ? { allowedOrigins: config.http.allowedOrigins } : {}),
        }),
        RealtimeModule.forRoot(),
        OperatorMetricsModule,
        TurnModule.forRoot({ relay: true, coturnStats: false }),
        // libs/files: its commands ride in the conversations' streams (their state loader is
        // exported to it through this module's exports below).
        FilesModule.forRoot(),
        // libs/push
        PushModule.forRoot(),
        // libs/calls: membership from the conversations' read model, like presence; iceServers
        // from libs/turn (CALL_ICE_SERVERS below); group calls through SFU_PORT when bound.
        CallsModule.forRoot({ memberships: (client) => new ConversationMemberships(client) }),
        // libs/sfu: SFU_PORT for group calls (mediasoup when its worker is found, else none).
        SfuModule.forRoot(),
      ],
      controllers: [
        HealthController,
        ...(config.slice(identityConfig).devTokens ? [DevTokenController] : []),
      ],
      providers: [
        ...kernelProviders(config),
        Readiness,
        ...realtimeProviders,
        ...graphqlResolvers,
        { provide: CALL_ICE_SERVERS, useExisting: IceServerIssuer }, // libs/calls
      ],
      exports: [
        CONFIG,
        CLOCK,
        ID_GENERATOR,
        Readiness,
        ...realtimeExports,
        // libs/files
        ConversationsModule,
        CALL_ICE_SERVERS,
        // libs/calls: SFU_PORT, which CallsModule injects (optionally) for group calls; without
        // this export it never saw the engine and refused every group call (sfu_unavailable).
        SfuModule,
      ],
    };
  }
}
