import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { CONFIG, type LedgerlineConfig } from '@ledgerline/kernel';
import { WebSocketUpgradesModule } from '@ledgerline/websocket';
import { RealtimeGateway } from './gateway/realtime.gateway';
import { realtimeSettingsFrom, type RealtimeSettings } from './realtime.config';
import { REALTIME_SETTINGS } from './realtime.tokens';

export interface RealtimeModuleOptions {
  /** Overrides of the settings the configuration gives (tests). */
  readonly settings?: Partial<RealtimeSettings>;
  /**
   * Modules exporting what the gateway serves (REALTIME_OPERATIONS, and REALTIME_CHANNELS,
   * REALTIME_FEED, REALTIME_PRESENCE, REALTIME_TYPING when the app has them). Without it they must
   * be global.
   */
  readonly imports?: ModuleMetadata['imports'];
}

/**
 * The realtime protocol's gateway on `/v1/realtime`. Needs, as global providers from the app:
 * CONFIG, CLOCK, ID_GENERATOR and AUTHENTICATOR (IdentityModule); from `imports` (or global),
 * REALTIME_OPERATIONS (the domain libs' operations); REALTIME_FEED (conversations), REALTIME_PRESENCE and REALTIME_TYPING
 * (presence) when the app has them: without a feed there is no sync, without presence no typing.
 * With METRICS (MetricsModule) it counts connections, deliveries and send-to-ack times.
 */
@Module({})
export class RealtimeModule {
  static forRoot(options: RealtimeModuleOptions = {}): DynamicModule {
    return {
      module: RealtimeModule,
      imports: [WebSocketUpgradesModule, ...(options.imports ?? [])],
      providers: [
        {
          provide: REALTIME_SETTINGS,
          inject: [CONFIG],
          useFactory: (config: LedgerlineConfig): RealtimeSettings => ({
            ...realtimeSettingsFrom(config),
            ...options.settings,
          }),
        },
        RealtimeGateway,
      ],
      exports: [RealtimeGateway, REALTIME_SETTINGS],
    };
  }
}
