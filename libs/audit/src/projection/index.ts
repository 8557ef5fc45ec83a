export {
  AuditLogProjection,
  AUDIT_LOG_PROJECTION,
  type AuditLogProjectionOptions,
  type ReplayOutcome,
} from './audit-log.projection';
export { AuditLogVerifier, type AuditLogVerification } from './audit-log-verifier';
export {
  LEGACY_ACCESS_DENIED,
  UnreadableAccessEventError,
  auditLogEntryOf,
  type AuditLogEntryOf,
  type AuditLogRow,
  type SkipReason,
} from './audit-log-row';
