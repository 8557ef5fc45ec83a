import {
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ACCESS_RECORDER, type AccessRecorder } from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { CoturnStatsReader } from './adapters/coturn-statsdb.adapter';
import { AllocationAudit } from './application/allocation-audit';
import { IceServerIssuer } from './application/ice-server-issuer';
import { TurnRelay } from './application/turn-relay';
import { PeerPolicy } from './domain/peer-policy';
import { turnConfig } from './turn.config';

/** What a process runs: the built-in relay, coturn's statistics reader, either or both. */
export class TurnServices {
  constructor(
    readonly relay: TurnRelay | undefined,
    readonly coturnStats: CoturnStatsReader | undefined,
  ) {}
}

class TurnLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Turn');
  constructor(@Inject(TurnServices) private readonly services: TurnServices) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.services.relay) {
      const { host, port } = await this.services.relay.start();
      this.logger.log({
        msg: `TURN relay listening on ${host}:${port} (UDP, TCP as configured)`,
        port,
      });
    }
    await this.services.coturnStats?.start();
  }

  // Before the access recorder drains and the ledger closes: ending the relay audits every
  // allocation still open (reason `shutdown`).
  async onModuleDestroy(): Promise<void> {
    await this.services.relay?.stop();
    await this.services.coturnStats?.stop();
  }
}

export interface TurnModuleOptions {
  /** Run the built-in relay (when `turn.enabled`). */
  readonly relay: boolean;
  /** Read coturn's statistics into audit events (when `turn.coturnStatsDbUrl` is set). */
  readonly coturnStats: boolean;
}

/**
 * TURN: `IceServerIssuer` (credentials and `iceServers` for the calls lib and the GraphQL query),
 * the built-in relay, and the coturn statistics reader; both relays' ended allocations go through
 * one `AllocationAudit`. Needs CONFIG, CLOCK, ID_GENERATOR, LEDGER and ACCESS_RECORDER.
 */
@Module({})
export class TurnModule {
  static forRoot(options: TurnModuleOptions): DynamicModule {
    return {
      module: TurnModule,
      providers: [
        {
          provide: IceServerIssuer,
          inject: [CONFIG, CLOCK, TurnServices],
          useFactory: (config: LedgerlineConfig, clock: Clock, services: TurnServices) =>
            new IceServerIssuer(
              config.slice(turnConfig),
              clock,
              () => services.relay?.listeningPort,
            ),
        },
        {
          provide: AllocationAudit,
          inject: [LEDGER, ACCESS_RECORDER, ID_GENERATOR],
          useFactory: (ledger: Ledger, access: AccessRecorder, ids: IdGenerator) => {
            const logger = new Logger('TurnAudit');
            return new AllocationAudit(ledger, access, ids, { warn: (f) => logger.warn(f) });
          },
        },
        {
          provide: TurnServices,
          inject: [CONFIG, AllocationAudit],
          useFactory: (config: LedgerlineConfig, audit: AllocationAudit) => {
            const logger = new Logger('Turn');
            const log = { warn: (fields: Record<string, unknown>) => logger.warn(fields) };
            const turn = config.slice(turnConfig);
            const relay =
              options.relay && turn.enabled && turn.secrets.length > 0
                ? new TurnRelay({
                    listenHost: turn.host,
                    port: turn.port,
                    tcp: turn.tcp,
                    ...(turn.externalAddress ? { externalAddress: turn.externalAddress } : {}),
                    realm: turn.realm,
                    secrets: () => turn.secrets,
                    peerPolicy: new PeerPolicy(turn.peerAllowlist),
                    quotas: {
                      allocationsPerUser: turn.maxAllocationsPerUser,
                      allocationsTotal: turn.maxAllocations,
                      bandwidthBytesPerSecond: turn.maxBandwidthBytesPerSecond,
                      permissionsPerAllocation: 64,
                    },
                    lifetimes: {
                      defaultSeconds: 600,
                      maxSeconds: turn.maxLifetimeSeconds,
                      permissionSeconds: 300,
                      channelSeconds: 600,
                      nonceSeconds: 600,
                    },
                    onAllocationEnded: (event) => audit.record(event),
                    log,
                  })
                : undefined;
            const coturnStats =
              options.coturnStats && turn.coturnStatsDbUrl
                ? new CoturnStatsReader(turn.coturnStatsDbUrl, (event) => audit.record(event), log)
                : undefined;
            if (options.relay && turn.enabled && turn.secrets.length === 0) {
              logger.warn({ msg: 'TURN relay off: LEDGERLINE_TURN_SECRETS is unset' });
            }
            return new TurnServices(relay, coturnStats);
          },
        },
        TurnLifecycle,
      ],
      exports: [IceServerIssuer, TurnServices],
    };
  }
}
