export {
  AuditorQueries,
  DISCLOSURE_ACTIONS,
  type AuditEntry,
  type AuditPage,
  type AuditPageRequest,
  type AuditSearch,
  type AuditorQueriesOptions,
} from './auditor-queries.handler';
export {
  AuditPageSizeError,
  InvalidAuditCursorError,
  InvalidAuditFilterError,
  InvalidTimeRangeError,
} from './auditor.errors';
export { decodeAuditCursor, encodeAuditCursor } from './audit-cursor';
