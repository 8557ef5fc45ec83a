import { Module, type DynamicModule } from '@nestjs/common';
import { CryptoModule } from '@ledgerline/crypto';
import { DatabaseModule } from '@ledgerline/database';
import { EventStoreModule } from '@ledgerline/event-store';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  kernelProviders,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LedgerModule } from '@ledgerline/ledger';

/** What the operator commands need: the database, the event store, keys and the ledger. No HTTP. */
@Module({})
export class CliModule {
  static forRoot(config: LedgerlineConfig): DynamicModule {
    return {
      module: CliModule,
      global: true,
      imports: [DatabaseModule, EventStoreModule, CryptoModule, LedgerModule],
      providers: [...kernelProviders(config)],
      exports: [CONFIG, CLOCK, ID_GENERATOR],
    };
  }
}
