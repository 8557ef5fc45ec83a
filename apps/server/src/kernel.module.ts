import { Global, Module, type DynamicModule } from '@nestjs/common';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  kernelProviders,
  type LedgerlineConfig,
} from '@ledgerline/kernel';

/**
 * The process's configuration, clock and id generator (CONFIG, CLOCK, ID_GENERATOR): global, like
 * the database, event store and ledger modules, since every lib module reads them. Nothing else is
 * global from the app (docs/adr/0028).
 */
@Global()
@Module({})
export class KernelModule {
  static forRoot(config: LedgerlineConfig): DynamicModule {
    return {
      module: KernelModule,
      providers: kernelProviders(config),
      exports: [CONFIG, CLOCK, ID_GENERATOR],
    };
  }
}
