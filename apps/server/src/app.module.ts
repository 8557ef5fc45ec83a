import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@ledgerline/audit';
import {
  CONVERSATION_API_LIMITS,
  CONVERSATION_API_MAX_PAGE_SIZE,
  ConversationMemberships,
  ConversationsModule,
} from '@ledgerline/conversations';
import { CryptoModule } from '@ledgerline/crypto';
import { DatabaseModule } from '@ledgerline/database';
import { EventStoreModule } from '@ledgerline/event-store';
import { GraphqlEdgeModule } from '@ledgerline/graphql';
import { IdentityModule } from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  kernelProviders,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LedgerModule } from '@ledgerline/ledger';
import { PipelineModule } from '@ledgerline/pipeline';
import { PresenceModule } from '@ledgerline/presence';
import { RealtimeModule } from '@ledgerline/realtime';
// libs/sfu
import { SfuModule } from '@ledgerline/sfu';
import { TurnModule } from '@ledgerline/turn';
import { DevTokenController } from './dev-tokens/dev-token.controller';
import { graphqlResolvers } from './graphql-resolvers';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
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
        DatabaseModule,
        EventStoreModule,
        CryptoModule,
        LedgerModule,
        PipelineModule.forRoot(),
        AuditModule,
        IdentityModule.forRoot(config.identity),
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
        // libs/sfu: SFU_PORT for group calls (mediasoup when its worker is found, else none).
        SfuModule.forRoot(),
      ],
      controllers: [HealthController, ...(config.identity.devTokens ? [DevTokenController] : [])],
      providers: [...kernelProviders(config), Readiness, ...realtimeProviders, ...graphqlResolvers],
      exports: [CONFIG, CLOCK, ID_GENERATOR, Readiness, ...realtimeExports],
    };
  }
}
