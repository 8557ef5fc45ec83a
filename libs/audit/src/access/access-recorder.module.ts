import { Global, Inject, Logger, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import { ACCESS_RECORDER } from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ID_GENERATOR,
  type Clock,
  type IdGenerator,
  type LedgerlineConfig,
} from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { LedgerAccessRecorder } from './ledger-access-recorder';
import { auditConfig } from '../audit.config';

class AccessRecorderLifecycle implements BeforeApplicationShutdown {
  constructor(@Inject(ACCESS_RECORDER) private readonly recorder: LedgerAccessRecorder) {}
  async beforeApplicationShutdown(): Promise<void> {
    await this.recorder.drain();
  }
}

/**
 * The access recorder alone (ACCESS_RECORDER), for every process that acts on PHI or keys: the
 * server through AuditModule, the CLI directly. Records still queued at shutdown are appended
 * before the ledger closes.
 */
@Global()
@Module({
  providers: [
    {
      provide: ACCESS_RECORDER,
      inject: [LEDGER, CONFIG, CLOCK, ID_GENERATOR],
      useFactory: (ledger: Ledger, config: LedgerlineConfig, clock: Clock, ids: IdGenerator) => {
        const logger = new Logger('Audit');
        return new LedgerAccessRecorder(ledger, {
          node: config.node.id,
          clock,
          ids,
          batchMax: config.slice(auditConfig).batchMax,
          failOpenTenants: config.slice(auditConfig).failOpenTenants,
          log: { error: (fields) => logger.error(fields) },
        });
      },
    },
    AccessRecorderLifecycle,
  ],
  exports: [ACCESS_RECORDER],
})
export class AccessRecorderModule {}
