import { accessActorOf, type Principal } from '../principal';
import { AccessDeniedError, type AccessDenial } from '../identity.errors';
import type { AccessRecord, AccessRecorder, ResourceRef } from './access-recorder.port';
import type { Permission } from './permissions';
import type { RolePolicy } from './role-policy';

/**
 * The access check every handler starts with: does one of the principal's roles grant the
 * permission, and is the resource (when named) in the principal's tenant? A refusal is recorded
 * as an `access.denied` access record before the AccessDeniedError reaches the caller.
 */
export class AccessPolicy {
  constructor(
    private readonly policy: RolePolicy,
    private readonly recorder: AccessRecorder,
  ) {}

  /**
   * Resolves when allowed; otherwise records the denial and throws AccessDeniedError. `operation`
   * names what was refused in the record, where one permission guards several operations.
   */
  async check(
    principal: Principal,
    permission: Permission,
    resource?: ResourceRef,
    operation?: string,
  ): Promise<void> {
    const denial = this.denialOf(principal, permission, resource);
    if (denial === undefined) return;
    try {
      await this.recorder.record({
        ...deniedRecord(principal, permission, denial, resource),
        ...(operation === undefined ? {} : { operation }),
      });
    } catch (error) {
      throw new AccessDeniedError(permission, denial, false, { cause: error });
    }
    throw new AccessDeniedError(permission, denial, true);
  }

  /** The same decision as `check`, without recording: for hiding a button, never for enforcing. */
  allows(principal: Principal, permission: Permission, resource?: ResourceRef): boolean {
    return this.denialOf(principal, permission, resource) === undefined;
  }

  /** Every permission the principal's roles grant (roles the policy does not define grant none). */
  permissionsOf(principal: Principal): ReadonlySet<Permission> {
    const granted = new Set<Permission>();
    for (const role of principal.roles) {
      for (const p of this.policy.roles.get(role) ?? []) granted.add(p);
    }
    return granted;
  }

  /** True when policies/roles.yaml defines the role (API keys may only be given defined roles). */
  definesRole(role: string): boolean {
    return this.policy.roles.has(role);
  }

  private denialOf(
    principal: Principal,
    permission: Permission,
    resource: ResourceRef | undefined,
  ): AccessDenial | undefined {
    if (resource && resource.tenantId !== principal.tenantId) return 'other_tenant';
    for (const role of principal.roles) {
      if (this.policy.roles.get(role)?.has(permission)) return undefined;
    }
    return 'missing_permission';
  }
}

function deniedRecord(
  principal: Principal,
  permission: Permission,
  denial: AccessDenial,
  resource: ResourceRef | undefined,
): AccessRecord {
  const ownTenant = denial !== 'other_tenant';
  const isConversation =
    ownTenant && resource?.type === 'conversation' && resource.id !== undefined;
  return {
    tenantId: principal.tenantId,
    actor: accessActorOf(principal),
    action: 'access.denied',
    outcome: 'denied',
    reason: denial,
    permission,
    ...(isConversation ? { conversationId: resource.id } : {}),
    ...(resource?.type !== undefined && !isConversation ? { resourceType: resource.type } : {}),
    // A resource of another tenant is named by type only: its ids belong to that tenant's log.
    targetIds: ownTenant && resource?.id !== undefined ? [resource.id] : [],
    subjectUserIds: [],
    ...(principal.origin ? { origin: principal.origin } : {}),
  };
}
