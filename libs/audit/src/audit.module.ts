import { Global, Module } from '@nestjs/common';
import { ACCESS_DENIED_RECORDER } from '@ledgerline/identity';
import { ID_GENERATOR, type IdGenerator } from '@ledgerline/kernel';
import { LEDGER, type Ledger } from '@ledgerline/ledger';
import { LedgerAccessDeniedRecorder } from './access-denied.recorder';

/** The audit trail's recorders. The audit projection and auditor API come with the audit issue. */
@Global()
@Module({
  providers: [
    {
      provide: ACCESS_DENIED_RECORDER,
      inject: [LEDGER, ID_GENERATOR],
      useFactory: (ledger: Ledger, ids: IdGenerator) => new LedgerAccessDeniedRecorder(ledger, ids),
    },
  ],
  exports: [ACCESS_DENIED_RECORDER],
})
export class AuditModule {}
