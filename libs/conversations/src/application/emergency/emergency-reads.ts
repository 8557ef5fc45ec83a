import type { Principal } from '@ledgerline/identity';
import type { EmergencyAccess } from './emergency-access.handler';

/**
 * For a read of a conversation the principal is not a member of: true when a break-glass grant
 * lets them read it now, after recording the use and alerting the tenant's auditors (the read
 * then records itself as any read does, so it is in the accounting of disclosures). Users only:
 * services read their tenant's conversations anyway, and agents are never granted.
 */
export async function readsUnderEmergencyGrant(
  emergency: Pick<EmergencyAccess, 'activeGrant' | 'used'> | undefined,
  principal: Principal,
  conversationId: string,
  operation: string,
  memberIds: readonly string[],
): Promise<boolean> {
  if (!emergency || principal.kind !== 'user') return false;
  const grant = await emergency.activeGrant(principal.tenantId, principal.id, conversationId);
  if (!grant) return false;
  await emergency.used(principal, grant, operation, memberIds);
  return true;
}
