/**
 * Tenant ids Ledgerline keeps for itself: `ledgerline-deployment` holds deployment-wide records
 * (failed sign-ins with client addresses, operator actions); later ones will share the prefix. A
 * token or API key naming one is refused at authentication, so no end user, agent or service can
 * act in, or read, a tenant that is not a customer's.
 */
export const RESERVED_TENANT_PREFIX = 'ledgerline-';

export function isReservedTenantId(tenantId: string): boolean {
  return tenantId.toLowerCase().startsWith(RESERVED_TENANT_PREFIX);
}
