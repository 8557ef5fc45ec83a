import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type InjectionToken,
  type Type,
} from '@nestjs/common';
import { DATA_KEYS, type DataKeys } from '@ledgerline/crypto';
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
import { SFU_PORT, type SfuPort } from '@ledgerline/sfu';
import { CallFanOut } from './application/call-fan-out';
import {
  CallService,
  type CallIceServers,
  type CallLog,
  type CallMemberships,
} from './application/call-service';
import type { CallSignalRelay } from './application/call-signal-relay.port';
import { SqlCallConnections } from './adapters/sql-call-connections.adapter';
import { SqlCallReads } from './adapters/sql-call-reads.adapter';
import { SqlCallSignalRelay } from './adapters/sql-call-signal-relay.adapter';
import { CallStates } from './application/call-states';
import { CallProjections } from './projections/call-projections';
import { callsConfig } from './calls.config';
import { presenceConfig } from '@ledgerline/presence';

export interface CallsModuleOptions {
  /** Who is in which conversation (the app composes libs/conversations' SqlConversationMemberships). */
  readonly memberships: (client: SqlClient) => CallMemberships;
  /**
   * Where CALL_ICE_SERVERS comes from: the module exporting it (libs/turn's, the same instance the
   * app imports) and the token there to use. Without it, CALL_ICE_SERVERS must be global.
   */
  readonly iceServers?: {
    readonly module: DynamicModule | Type;
    readonly useExisting: InjectionToken;
  };
  /**
   * The module exporting SFU_PORT (libs/sfu's, the same instance the app imports). Without it
   * group calls are refused (sfu_unavailable) unless SFU_PORT is global.
   */
  readonly sfu?: DynamicModule | Type;
}

const CALL_MEMBERSHIPS = Symbol('CallMemberships');
const CALL_SIGNAL_RELAY = Symbol('CallSignalRelay');
/** The app binds the ICE server issuer here (libs/turn's IceServerIssuer). */
export const CALL_ICE_SERVERS = Symbol('CallIceServers');

function logOf(context: string): CallLog {
  const logger = new Logger(context);
  return { warn: (f) => logger.warn(f), error: (f) => logger.error(f) };
}

class CallsLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(CallService) private readonly calls: CallService) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.calls.start();
    new Logger('Calls').log(
      this.calls.sfuEngine
        ? `group calls through the ${this.calls.sfuEngine} SFU`
        : 'no SFU configured: 1:1 calls only, group calls are refused (sfu_unavailable)',
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.calls.stop();
  }
}

/**
 * Calls: `CallService` (commands on the one COMMAND_RUNNER, the call-state read model on the one
 * PROJECTION_PROCESSOR, the sealed signal relay, the live fan-out, the sweep of due timers),
 * global so the realtime gateway and the GraphQL resolvers share it. Group calls use SFU_PORT when
 * the app provides one. Needs, from the app: CONFIG, CLOCK, ID_GENERATOR, SQL_CLIENT, EVENT_STORE,
 * LEDGER, DATA_KEYS, ACCESS_POLICY, ACCESS_RECORDER and PipelineModule; and (`forRoot`) the
 * memberships port and where the ICE servers come from.
 */
@Module({})
export class CallsModule {
  static forRoot(options: CallsModuleOptions): DynamicModule {
    return {
      module: CallsModule,
      global: true,
      imports: [
        ...(options.iceServers ? [options.iceServers.module] : []),
        ...(options.sfu ? [options.sfu] : []),
      ],
      providers: [
        ...(options.iceServers
          ? [{ provide: CALL_ICE_SERVERS, useExisting: options.iceServers.useExisting }]
          : []),
        {
          provide: CALL_MEMBERSHIPS,
          inject: [SQL_CLIENT],
          useFactory: (client: SqlClient) => options.memberships(client),
        },
        {
          provide: CallProjections,
          inject: [PROJECTION_PROCESSOR],
          useFactory: (processor: ProjectionProcessor) => CallProjections.register(processor),
        },
        {
          provide: CALL_SIGNAL_RELAY,
          inject: [SQL_CLIENT, DATA_KEYS, CONFIG, CLOCK, ID_GENERATOR],
          useFactory: (
            client: SqlClient,
            keys: DataKeys,
            config: LedgerlineConfig,
            clock: Clock,
            ids: IdGenerator,
          ) =>
            SqlCallSignalRelay.create(client, keys, {
              clock,
              ids,
              ttlMs: config.slice(callsConfig).signalTtlMs,
              log: logOf('CallSignals'),
            }),
        },
        {
          provide: CallService,
          inject: [
            COMMAND_RUNNER,
            LEDGER,
            EVENT_STORE,
            SQL_CLIENT,
            ACCESS_POLICY,
            ACCESS_RECORDER,
            CALL_MEMBERSHIPS,
            CALL_ICE_SERVERS,
            CALL_SIGNAL_RELAY,
            CONFIG,
            CLOCK,
            CallProjections,
            PROJECTION_PROCESSOR,
            { token: SFU_PORT, optional: true },
          ],
          useFactory: (
            runner: CommandRunner,
            ledger: Ledger,
            store: EventStore,
            client: SqlClient,
            access: AccessPolicy,
            recorder: AccessRecorder,
            memberships: CallMemberships,
            iceServers: CallIceServers,
            relay: CallSignalRelay,
            config: LedgerlineConfig,
            clock: Clock,
            _projections: CallProjections,
            processor: ProjectionProcessor,
            sfu: SfuPort | undefined,
          ) => {
            const states = new CallStates(ledger);
            const log = logOf('Calls');
            return new CallService(
              runner,
              states,
              new SqlCallReads(client),
              new SqlCallConnections(client),
              access,
              recorder,
              memberships,
              iceServers,
              relay,
              new CallFanOut(ledger, store, states, log),
              sfu,
              {
                clock,
                ...config.slice(callsConfig),
                log,
                nodeId: config.node.id,
                connectionLeaseMs: config.slice(presenceConfig).connectionLeaseMs,
                catchUp: async () => {
                  const head = await store.headPosition();
                  if (head) await processor.waitFor(head, { timeoutMs: 5_000 });
                },
              },
            );
          },
        },
        CallsLifecycle,
      ],
      exports: [CallService, CallProjections],
    };
  }
}
