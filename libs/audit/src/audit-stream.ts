/** Each tenant's access events go to its own audit stream, sealed like every other event. */
export const auditStreamId = (tenantId: string): string => `audit:${tenantId}`;
export const AUDIT_STREAM_PREFIX = 'audit:';
