export { AUDIT_STREAM_PREFIX, auditStreamId } from './audit-stream';
export { LedgerAccessDeniedRecorder, type AccessDeniedV1 } from './access-denied.recorder';
export { AuditModule } from './audit.module';
export * from './checkpoints';
