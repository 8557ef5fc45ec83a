import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { CryptoModule } from '@ledgerline/crypto';
import { DatabaseModule } from '@ledgerline/database';
import { EventStoreModule } from '@ledgerline/event-store';
import { LedgerModule } from '@ledgerline/ledger';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  kernelProviders,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
import { loggerOptions } from './logging';

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
      ],
      controllers: [HealthController],
      providers: [...kernelProviders(config), Readiness],
      exports: [CONFIG, CLOCK, ID_GENERATOR, Readiness],
    };
  }
}
