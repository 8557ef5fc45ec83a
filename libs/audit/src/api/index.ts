export { AuditLogResolver } from './audit-log.resolver';
export { AuditConversationHistoryResolver } from './audit-history.resolver';
export {
  AUDIT_LOG_MAX_PAGE_SIZE,
  AUDIT_LOG_DEFAULT_PAGE_SIZE,
  AUDIT_LOG_UP_TO_DATE_TIMEOUT_MS,
} from './audit-api.config';
