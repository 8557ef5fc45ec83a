export { AUDIT_STREAM_PREFIX, auditStreamId } from './audit-stream';
export {
  LedgerAccessRecorder,
  AuditUnavailableError,
  type LedgerAccessRecorderOptions,
} from './access/ledger-access-recorder';
export {
  ACCESS_RECORDED,
  type AccessRecordedV1,
  parseAccessRecorded,
} from './access/access-recorded.event';
export { AuditModule } from './audit.module';
export { auditManifest } from './manifest';
export { auditConfig, type AuditSettings } from './audit.config';
export { AccessRecorderModule } from './access/access-recorder.module';
export * from './checkpoints';
export * from './projection';
export * from './auditor';
export * from './api';
