import { Global, Module } from '@nestjs/common';
import { AccessRecorderModule } from './access/access-recorder.module';
import { auditLogExports, auditLogProviders } from './audit-log.providers';
import { SignedTailsModule } from './checkpoints/signed-tails.module';
import { CheckpointSchedule } from './checkpoints/checkpoint-schedule';

/**
 * The audit trail of a server: the access recorder every handler reports to, the audit log
 * projection and the auditor's queries, and the scheduled signed checkpoint
 * (LEDGERLINE_AUDIT_CHECKPOINT_INTERVAL_MS). Operator tools import AccessRecorderModule alone.
 */
@Global()
@Module({
  imports: [AccessRecorderModule, SignedTailsModule],
  providers: [CheckpointSchedule, ...auditLogProviders],
  exports: [AccessRecorderModule, SignedTailsModule, ...auditLogExports],
})
export class AuditModule {}
