import { Module, type DynamicModule } from '@nestjs/common';
import { AccessRecorderModule, SignedTailsModule } from '@ledgerline/audit';
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
import { LEDGERLINE_LIBS } from '../../server/src/lib-manifests';

/**
 * What the operator commands need: the database, the event store, keys, the ledger and the access
 * recorder (operator actions are access events too). No HTTP.
 */
@Module({})
export class CliModule {
  static forRoot(config: LedgerlineConfig): DynamicModule {
    return {
      module: CliModule,
      global: true,
      imports: [
        // Operator commands never change the schema behind a running server: `migrate` does.
        DatabaseModule.forRoot({ schema: schemaOf(LEDGERLINE_LIBS), mode: 'verify' }),
        EventStoreModule,
        CryptoModule,
        LedgerModule,
        AccessRecorderModule,
        // libs/audit: reads are held against the latest signed checkpoint (a cut tail shows).
        SignedTailsModule,
      ],
      providers: [...kernelProviders(config)],
      exports: [CONFIG, CLOCK, ID_GENERATOR],
    };
  }
}
