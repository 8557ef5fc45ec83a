export {
  AuditorQueries,
  AUDITOR_DISCLOSURE_ACTIONS,
  DISCLOSURE_ACTION_PREFIX,
  isDisclosure,
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
