import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AccessRecorderModule } from '@ledgerline/audit';
import { CryptoModule } from '@ledgerline/crypto';
import { DatabaseModule } from '@ledgerline/database';
import { EventStoreModule } from '@ledgerline/event-store';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  kernelProviders,
  schemaOf,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LedgerModule } from '@ledgerline/ledger';
import { TurnModule } from '@ledgerline/turn';
import { LEDGERLINE_LIBS } from '../../server/src/lib-manifests';

/**
 * The TURN deployable: the built-in relay (when LEDGERLINE_TURN_ENABLED) and, beside coturn, the
 * reader that turns coturn's Redis statistics into audit events. Both seal their allocation events
 * through the ledger and record access like every other process; no HTTP.
 */
@Module({})
export class TurnAppModule {
  static forRoot(config: LedgerlineConfig): DynamicModule {
    return {
      module: TurnAppModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.log.level,
            base: { service: 'ledgerline-turn' },
            redact: { paths: ['*.password', '*.secret', '*.credential'], censor: '[redacted]' },
          },
        }),
        // Beside a server, which migrates: the relay only checks the schema is current.
        DatabaseModule.forRoot({ schema: schemaOf(LEDGERLINE_LIBS), mode: 'verify' }),
        EventStoreModule,
        CryptoModule,
        LedgerModule,
        AccessRecorderModule,
        TurnModule.forRoot({ relay: true, coturnStats: true }),
      ],
      providers: [...kernelProviders(config)],
      exports: [CONFIG, CLOCK, ID_GENERATOR],
    };
  }
}
