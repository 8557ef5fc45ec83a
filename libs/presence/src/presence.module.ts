import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SQL_CLIENT, type SqlClient } from '@ledgerline/database';
import { EVENT_STORE, type EventStore } from '@ledgerline/event-store';
import { ACCESS_POLICY, type AccessPolicy } from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { PresenceService, type PresenceMemberships } from './application/presence-service';
import type { PresenceLog } from './application/presence-views';
import { SqlPresenceConnections } from './adapters/sql-presence-connections.adapter';
import { PgTypingChannel } from './adapters/pg-typing-channel.adapter';
import { TypingIndicators, type TypingMemberships } from './application/typing-indicators';
import { presenceConfig } from './presence.config';

/** Who shares a conversation with whom: the port presence and typing read memberships through. */
export type PresenceMembershipsPort = PresenceMemberships & TypingMemberships;

export interface PresenceModuleOptions {
  /** The memberships port over the process's database (the app composes the conversations' one). */
  readonly memberships: (client: SqlClient) => PresenceMembershipsPort;
}

const PRESENCE_MEMBERSHIPS = Symbol('PresenceMemberships');

function logOf(context: string): PresenceLog {
  const logger = new Logger(context);
  return { warn: (fields) => logger.warn(fields), error: (fields) => logger.error(fields) };
}

class PresenceLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(PresenceService) private readonly presence: PresenceService,
    @Inject(TypingIndicators) private readonly typing: TypingIndicators,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.presence.start();
    await this.typing.start();
  }

  // Before the event store and the database close.
  async beforeApplicationShutdown(): Promise<void> {
    await this.typing.stop();
    await this.presence.stop();
  }
}

/**
 * Presence (`PresenceService`) and typing indicators (`TypingIndicators`), one of each per process,
 * global so the realtime gateway and the GraphQL resolvers share them. Settings come from the
 * kernel config (`presence`, `node.id`). Needs, from the app: CONFIG, CLOCK, ID_GENERATOR,
 * SQL_CLIENT, EVENT_STORE, LEDGER and ACCESS_POLICY, and (`forRoot`) the memberships port: presence
 * never reaches into another domain's classes, the app composes it.
 */
@Module({})
export class PresenceModule {
  static forRoot(options: PresenceModuleOptions): DynamicModule {
    return {
      module: PresenceModule,
      global: true,
      providers: [
        {
          provide: PRESENCE_MEMBERSHIPS,
          inject: [SQL_CLIENT],
          useFactory: (client: SqlClient) => options.memberships(client),
        },
        ...presenceProviders,
      ],
      exports: [PresenceService, TypingIndicators],
    };
  }
}

const presenceProviders = [
  {
    provide: SqlPresenceConnections,
    inject: [SQL_CLIENT],
    useFactory: (client: SqlClient) => SqlPresenceConnections.create(client),
  },
  {
    provide: PresenceService,
    inject: [
      ACCESS_POLICY,
      LEDGER,
      EVENT_STORE,
      SqlPresenceConnections,
      PRESENCE_MEMBERSHIPS,
      CONFIG,
      CLOCK,
      ID_GENERATOR,
    ],
    useFactory: (
      access: AccessPolicy,
      ledger: Ledger,
      store: EventStore,
      connections: SqlPresenceConnections,
      memberships: PresenceMembershipsPort,
      config: LedgerlineConfig,
      clock: Clock,
      ids: IdGenerator,
    ) =>
      new PresenceService(access, ledger, store, connections, memberships, {
        nodeId: config.node.id,
        graceMs: config.slice(presenceConfig).graceMs,
        connectionLeaseMs: config.slice(presenceConfig).connectionLeaseMs,
        clock,
        ids,
        log: logOf('Presence'),
      }),
  },
  {
    provide: TypingIndicators,
    inject: [ACCESS_POLICY, PRESENCE_MEMBERSHIPS, SQL_CLIENT, CONFIG, CLOCK],
    useFactory: (
      access: AccessPolicy,
      memberships: PresenceMembershipsPort,
      client: SqlClient,
      config: LedgerlineConfig,
      clock: Clock,
    ) =>
      new TypingIndicators(access, memberships, new PgTypingChannel(client), {
        clock,
        ttlMs: config.slice(presenceConfig).typingTtlMs,
        rateLimit: config.slice(presenceConfig).typingRateLimit,
        log: logOf('Typing'),
      }),
  },
  PresenceLifecycle,
];
